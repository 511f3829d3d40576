"""At most a few secret checks (argon2id) run at once, a few more wait briefly, and the
rest get a 503 ``busy`` problem with ``Retry-After`` at once. The checks are held
open by a gate, so the tests do not depend on how fast argon2 runs here."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal

import httpx
import pytest
from argon2 import PasswordHasher
from prometheus_client import REGISTRY

from gateway.clients import ClientRegistry, parse_clients
from gateway.errors import Busy
from gateway.main import verification_slots
from gateway.slots import BoundedSlots
from gateway_tests.support import (
    BROKER_ID,
    BROKER_SECRET,
    Gateway,
    GatewayFactory,
    basic,
)

FORM = {"grant_type": "client_credentials"}
GATE_TIMEOUT_SECONDS = 20  # a failing test must not leave threads blocked for good


class _GatedHasher(PasswordHasher):
    """Each check waits until the gate opens."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.gate = threading.Event()
        self._lock = threading.Lock()
        self.entered = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        with self._lock:
            self.entered += 1
        self.gate.wait(GATE_TIMEOUT_SECONDS)
        return super().verify(hash, password)


async def _until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting until {what}")


@contextlib.asynccontextmanager
async def _gated(
    gateway_factory: GatewayFactory, **settings: Any
) -> AsyncIterator[tuple[Gateway, ClientRegistry, _GatedHasher]]:
    """A gateway whose registry is built from ``settings`` as the lifespan builds it,
    but with a gated hasher."""
    async with gateway_factory(**settings) as gw:
        hasher = _GatedHasher()
        registry = ClientRegistry(
            parse_clients(gw.settings.clients_file.read_bytes()),
            hasher=hasher,
            slots=verification_slots(gw.settings),
        )
        gw.state["clients"] = registry
        try:
            yield gw, registry, hasher
        finally:
            hasher.gate.set()


def _post(client: httpx.AsyncClient, client_id: str, secret: str) -> Awaitable[httpx.Response]:
    return client.post(
        "/oauth/token", data=FORM, headers={"Authorization": basic(client_id, secret)}
    )


def _refused_by(limiter: str) -> float:
    return REGISTRY.get_sample_value("gateway_rate_limited_total", {"limiter": limiter}) or 0.0


def _assert_busy(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
    assert response.json()["type"].endswith("/busy")


async def test_requests_beyond_the_slots_and_the_line_are_refused_at_once(
    gateway_factory: GatewayFactory,
) -> None:
    async with (
        _gated(
            gateway_factory,
            token_verification_slots=1,
            token_verification_max_waiting=1,
            token_verification_max_wait_seconds=60,
        ) as (gw, registry, hasher),
        gw.client_from("203.0.113.1") as first,
        gw.client_from("203.0.113.2") as second,
        gw.client_from("203.0.113.3") as third,
    ):
        checking = asyncio.create_task(_post(first, "made-up-one", "x"))
        await _until(lambda: hasher.entered == 1, "the first check runs")
        waiting = asyncio.create_task(_post(second, BROKER_ID, BROKER_SECRET))
        await _until(lambda: registry.slots.waiting == 1, "the second request waits")

        busy_before = _refused_by("token-verification-busy")
        started = time.monotonic()
        refused = await asyncio.wait_for(_post(third, "made-up-three", "x"), timeout=10)

        _assert_busy(refused)
        assert _refused_by("token-verification-busy") == busy_before + 1
        assert time.monotonic() - started < 5  # did not wait for the gate
        assert hasher.entered == 1
        assert not checking.done()
        assert not waiting.done()

        hasher.gate.set()
        assert (await checking).status_code == 401
        assert (await waiting).status_code == 200
        assert hasher.entered == 2
        assert (await _post(third, BROKER_ID, BROKER_SECRET)).status_code == 200


async def test_one_source_cannot_fill_the_line_by_itself(gateway_factory: GatewayFactory) -> None:
    async with (
        _gated(
            gateway_factory,
            token_verification_slots=2,
            token_verification_max_waiting=8,
            token_verification_max_wait_seconds=60,
            token_verifications_in_flight_per_source=2,
        ) as (gw, registry, hasher),
        gw.client_from("203.0.113.1") as flooding,
        gw.client_from("203.0.113.2") as other,
    ):
        held = [asyncio.create_task(_post(flooding, f"made-up-{i}", "x")) for i in range(2)]
        await _until(lambda: hasher.entered == 2, "two checks of one source run")
        in_flight_before = _refused_by("token-source-in-flight")

        refused = await asyncio.wait_for(_post(flooding, "made-up-2", "x"), timeout=10)

        assert refused.status_code == 429, refused.text
        assert _refused_by("token-source-in-flight") == in_flight_before + 1
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["type"].endswith("/rate-limited")
        assert hasher.entered == 2
        # Another source still gets in line, and its token once a slot frees.
        waiting = asyncio.create_task(_post(other, BROKER_ID, BROKER_SECRET))
        await _until(lambda: registry.slots.waiting == 1, "the other source waits for a slot")
        hasher.gate.set()
        assert [(await task).status_code for task in held] == [401, 401]
        assert (await waiting).status_code == 200
        assert (await _post(flooding, "made-up-3", "x")).status_code == 401


async def test_a_request_waits_for_a_slot_only_so_long(gateway_factory: GatewayFactory) -> None:
    async with (
        _gated(
            gateway_factory,
            token_verification_slots=1,
            token_verification_max_waiting=10,
            token_verification_max_wait_seconds=0.05,
        ) as (gw, _registry, hasher),
        gw.client_from("203.0.113.1") as first,
        gw.client_from("203.0.113.2") as second,
    ):
        checking = asyncio.create_task(_post(first, BROKER_ID, BROKER_SECRET))
        await _until(lambda: hasher.entered == 1, "the first check runs")

        _assert_busy(await asyncio.wait_for(_post(second, BROKER_ID, BROKER_SECRET), timeout=10))
        assert not checking.done()

        hasher.gate.set()
        assert (await checking).status_code == 200
        assert (await _post(second, BROKER_ID, BROKER_SECRET)).status_code == 200


async def test_busy_answers_are_not_failures(gateway_factory: GatewayFactory) -> None:
    """A 503 spent no argon2 and says nothing about the secret: it does not count
    towards the failure limits."""
    async with (
        _gated(
            gateway_factory,
            token_verification_slots=1,
            token_verification_max_waiting=0,
            token_failures_per_minute_per_client_source=1,
        ) as (gw, _registry, hasher),
        gw.client_from("203.0.113.1") as first,
        gw.client_from("203.0.113.2") as second,
    ):
        checking = asyncio.create_task(_post(first, "made-up", "x"))
        await _until(lambda: hasher.entered == 1, "the first check runs")
        for _ in range(3):
            _assert_busy(await _post(second, BROKER_ID, BROKER_SECRET))

        hasher.gate.set()
        assert (await checking).status_code == 401
        assert (await _post(second, BROKER_ID, BROKER_SECRET)).status_code == 200


async def test_the_lifespan_sizes_the_slots_from_settings(
    gateway_factory: GatewayFactory,
) -> None:
    async with gateway_factory(
        token_verification_slots=3,
        token_verification_max_waiting=2,
        token_verification_max_wait_seconds=0.5,
    ) as gw:
        slots = gw.state["clients"].slots
        assert (slots.slots, slots.max_waiting, slots.max_wait_seconds) == (3, 2, 0.5)
    async with gateway_factory() as gw:
        assert gw.state["clients"].slots.slots == (os.cpu_count() or 2)


async def test_slots_without_a_line_still_admit_while_free() -> None:
    slots = BoundedSlots(2, max_waiting=0, max_wait_seconds=0)

    async with slots.slot(), slots.slot():
        assert slots.in_use == 2
        with pytest.raises(Busy):
            async with slots.slot():
                pass
    assert slots.in_use == 0
