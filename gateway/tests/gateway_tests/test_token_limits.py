"""The token endpoint's rate limits: keyed on the caller's address (alone, or with the
claimed client id), never on the claimed client id alone."""

from __future__ import annotations

import asyncio
import secrets
import threading
from typing import Literal

import httpx
import pytest
from argon2 import PasswordHasher
from prometheus_client import REGISTRY

from gateway.clients import ClientRegistry, parse_clients
from gateway_tests.support import (
    BROKER_ID,
    BROKER_SECRET,
    OFFICER_ID,
    OFFICER_SECRET,
    Gateway,
    GatewayFactory,
    basic,
    internal_url,
)

pytestmark = pytest.mark.usefixtures("clear_of_a_window_edge")

ATTACKER = "203.0.113.7"
ELSEWHERE = "198.51.100.9"
FORM = {"grant_type": "client_credentials"}


async def _token(client: httpx.AsyncClient, client_id: str, secret: str) -> httpx.Response:
    return await client.post(
        "/oauth/token", data=FORM, headers={"Authorization": basic(client_id, secret)}
    )


def _assert_rate_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert response.json()["type"].endswith("/rate-limited")


class _CountingHasher(PasswordHasher):
    """Cheap parameters for the dummy hash (so made-up ids cost little in tests) and a
    count of every argon2 check."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self._lock = threading.Lock()
        self.checks = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        with self._lock:
            self.checks += 1
        return super().verify(hash, password)


def _counting_registry(gw: Gateway) -> _CountingHasher:
    """Swaps the running gateway's registry for one over the same clients that counts
    its argon2 checks."""
    hasher = _CountingHasher()
    clients = parse_clients(gw.settings.clients_file.read_bytes())
    gw.state["clients"] = ClientRegistry(clients, hasher=hasher)
    return hasher


async def test_wrong_secrets_from_one_source_do_not_lock_the_client_out_elsewhere(
    gateway_factory: GatewayFactory,
) -> None:
    async with (
        gateway_factory(token_failures_per_minute_per_client_source=3) as gw,
        gw.client_from(ATTACKER) as attacker,
        gw.client_from(ELSEWHERE) as owner,
    ):
        answers = [(await _token(attacker, BROKER_ID, f"guess-{i}")).status_code for i in range(3)]
        assert answers == [401, 401, 401]

        guessing = await _token(attacker, BROKER_ID, "guess-3")
        _assert_rate_limited(guessing)
        # The guessing source is refused for this client even with the right secret …
        _assert_rate_limited(await _token(attacker, BROKER_ID, BROKER_SECRET))
        # … while the client, from its own address, still gets its token,
        assert (await _token(owner, BROKER_ID, BROKER_SECRET)).status_code == 200
        # and the guessing source may still authenticate as another client.
        assert (await _token(attacker, OFFICER_ID, OFFICER_SECRET)).status_code == 200


async def test_successful_requests_are_not_failures(gateway_factory: GatewayFactory) -> None:
    async with (
        gateway_factory(token_failures_per_minute_per_client_source=2) as gw,
        gw.client_from(ATTACKER) as client,
    ):
        for _ in range(3):
            assert (await _token(client, BROKER_ID, BROKER_SECRET)).status_code == 200
        assert (await _token(client, BROKER_ID, "wrong")).status_code == 401
        assert (await _token(client, BROKER_ID, BROKER_SECRET)).status_code == 200


async def test_issuance_limit_counts_issued_tokens_only(gateway_factory: GatewayFactory) -> None:
    async with (
        gateway_factory(tokens_issued_per_minute_per_client=2) as gw,
        gw.client_from(ATTACKER) as attacker,
        gw.client_from(ELSEWHERE) as owner,
    ):
        for i in range(3):
            assert (await _token(attacker, BROKER_ID, f"guess-{i}")).status_code == 401

        assert (await _token(owner, BROKER_ID, BROKER_SECRET)).status_code == 200
        assert (await _token(owner, BROKER_ID, BROKER_SECRET)).status_code == 200
        _assert_rate_limited(await _token(owner, BROKER_ID, BROKER_SECRET))


async def test_made_up_client_ids_cannot_dodge_the_per_source_request_limit(
    gateway_factory: GatewayFactory,
) -> None:
    async with (
        # Only the request limit here; the cap on checks in progress has its own test.
        gateway_factory(
            token_requests_per_minute_per_source=5, token_verifications_in_flight_per_source=16
        ) as gw,
        gw.client_from(ATTACKER) as attacker,
        gw.client_from(ELSEWHERE) as other,
    ):
        hasher = _counting_registry(gw)

        answers = await asyncio.gather(
            *(_token(attacker, f"made-up-{secrets.token_hex(8)}", "x") for _ in range(16))
        )

        statuses = sorted(a.status_code for a in answers)
        assert statuses == [401] * 5 + [429] * 11
        for answer in answers:
            if answer.status_code == 429:
                _assert_rate_limited(answer)
        assert hasher.checks == 5  # the refused ones never reached argon2
        # Another source is not affected, for made-up ids or real ones.
        assert (await _token(other, f"made-up-{secrets.token_hex(8)}", "x")).status_code == 401
        assert (await _token(other, BROKER_ID, BROKER_SECRET)).status_code == 200
        assert hasher.checks == 7


async def test_failures_per_source_span_client_ids(gateway_factory: GatewayFactory) -> None:
    async with (
        gateway_factory(token_failures_per_minute_per_source=4) as gw,
        gw.client_from(ATTACKER) as attacker,
        gw.client_from(ELSEWHERE) as other,
    ):
        hasher = _counting_registry(gw)
        for _ in range(4):
            made_up = f"made-up-{secrets.token_hex(8)}"
            assert (await _token(attacker, made_up, "x")).status_code == 401

        _assert_rate_limited(await _token(attacker, f"made-up-{secrets.token_hex(8)}", "x"))
        _assert_rate_limited(await _token(attacker, BROKER_ID, "guess"))
        assert hasher.checks == 4
        assert (await _token(other, BROKER_ID, BROKER_SECRET)).status_code == 200


async def test_an_ipv6_source_is_its_slash_64(gateway_factory: GatewayFactory) -> None:
    async with (
        gateway_factory(token_failures_per_minute_per_source=2) as gw,
        gw.client_from("2001:db8:1:2::1") as first,
        gw.client_from("2001:db8:1:2:ffff::9") as same_64,
        gw.client_from("2001:db8:1:3::1") as next_64,
    ):
        _counting_registry(gw)
        assert (await _token(first, "made-up-a", "x")).status_code == 401
        assert (await _token(same_64, "made-up-b", "x")).status_code == 401

        _assert_rate_limited(await _token(same_64, "made-up-c", "x"))
        _assert_rate_limited(await _token(first, "made-up-d", "x"))
        assert (await _token(next_64, "made-up-e", "x")).status_code == 401


async def test_unknown_id_and_wrong_secret_cost_one_argon2_check_each(
    gateway_factory: GatewayFactory,
) -> None:
    """The limits come on top of the equal-time check, not instead of it."""
    async with gateway_factory() as gw, gw.client_from(ATTACKER) as client:
        hasher = _counting_registry(gw)

        assert (await _token(client, "nobody-at-all", "x")).status_code == 401
        assert hasher.checks == 1
        assert (await _token(client, BROKER_ID, "wrong")).status_code == 401
        assert hasher.checks == 2


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_refusals_and_failures_are_counted(gateway_factory: GatewayFactory) -> None:
    limiter = {"limiter": "token-client-source-failures"}
    async with (
        gateway_factory(token_failures_per_minute_per_client_source=1) as gw,
        gw.client_from(ATTACKER) as attacker,
    ):
        refused_before = _sample("gateway_rate_limited_total", **limiter)
        failed_before = _sample("gateway_token_authentication_failures_total")

        assert (await _token(attacker, BROKER_ID, "guess")).status_code == 401
        _assert_rate_limited(await _token(attacker, BROKER_ID, "guess"))

        assert _sample("gateway_rate_limited_total", **limiter) == refused_before + 1
        assert _sample("gateway_token_authentication_failures_total") == failed_before + 1
        exposed = (await gw.client.get(internal_url(gw, "/metrics"))).text
        assert 'gateway_rate_limited_total{limiter="token-client-source-failures"}' in exposed
