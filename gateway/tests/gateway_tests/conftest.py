from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from argon2 import PasswordHasher

from gateway.settings import GatewaySettings
from gateway_tests.support import (
    ADMIN_ID,
    ADMIN_SECRET,
    BROKER_ID,
    BROKER_SECRET,
    BROKER_TENANT,
    OFFICER_ID,
    OFFICER_SECRET,
    OTHER_PARTNER_ID,
    OTHER_PARTNER_SECRET,
    OTHER_PARTNER_SOURCE,
    PARTNER_ID,
    PARTNER_SECRET,
    PARTNER_SOURCE,
    Gateway,
    GatewayFactory,
    echo_app,
    free_port,
    run_gateway,
)


@pytest.fixture(scope="session")
def clients_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test clients, with real argon2id hashes."""
    hasher = PasswordHasher()
    data = {
        "_comment": "test clients",
        "clients": [
            {
                "client_id": BROKER_ID,
                "client_secret_hash": hasher.hash(BROKER_SECRET),
                "roles": ["broker"],
                "tenant": BROKER_TENANT,
                "scopes": ["declarations:read", "declarations:write"],
                "description": "broker under test",
            },
            {
                "client_id": OFFICER_ID,
                "client_secret_hash": hasher.hash(OFFICER_SECRET),
                "roles": ["officer"],
                "tenant": "customs-hq",
                "scopes": ["declarations:read", "routing:write"],
            },
            {
                "client_id": PARTNER_ID,
                "client_secret_hash": hasher.hash(PARTNER_SECRET),
                "roles": ["partner_agency"],
                "tenant": "vn-port-radiation",
                "scopes": ["partner-events:write"],
                "partner_event_types": ["customs.partner.radiation-alarm.v1"],
                "partner_event_source": PARTNER_SOURCE,
            },
            {
                "client_id": OTHER_PARTNER_ID,
                "client_secret_hash": hasher.hash(OTHER_PARTNER_SECRET),
                "roles": ["partner_agency"],
                "tenant": "vn-other-radiation",
                "scopes": ["partner-events:write"],
                "partner_event_types": ["customs.partner.radiation-alarm.v1"],
                "partner_event_source": OTHER_PARTNER_SOURCE,
            },
            {
                "client_id": ADMIN_ID,
                "client_secret_hash": hasher.hash(ADMIN_SECRET),
                "roles": ["admin"],
                "tenant": "customs-hq",
                "scopes": ["admin"],
            },
        ],
    }
    path = tmp_path_factory.mktemp("clients") / "clients.json"
    path.write_text(json.dumps(data))
    return path


@pytest.fixture(scope="session")
async def echo_url() -> AsyncIterator[str]:
    """A real HTTP service (uvicorn) on a free port, in the tests' event loop."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(echo_app(), log_config=None, lifespan="off", ws="none")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started, "echo server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture(scope="session")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys")


@pytest.fixture(scope="session")
def make_settings(
    clients_file: Path, key_dir: Path, echo_url: str
) -> Callable[..., GatewaySettings]:
    """Settings for a gateway whose declarations/ipr/routing upstream is the echo
    service and whose signatures upstream is down."""
    down = f"http://127.0.0.1:{free_port()}"

    def make(**overrides: Any) -> GatewaySettings:
        values: dict[str, Any] = {
            "signing_key_file": key_dir / "signing-key.pem",
            "generate_signing_key": True,
            "clients_file": clients_file,
            "upstreams": {
                "declarations": echo_url,
                "ipr": echo_url,
                "routing": echo_url,
                "signatures": down,
            },
            "log_level": "WARNING",
            "database_url": f"sqlite+aiosqlite:///{key_dir / 'gateway.db'}",
        }
        values.update(overrides)
        return GatewaySettings(**values)

    return make


@pytest.fixture
async def clear_of_a_window_edge() -> None:
    """Starts a test that counts requests up to a per-minute limit at least 10 s before
    the clock's next minute. The limits are sliding window counters (the ``limits``
    package): their windows are the clock's minutes, and the window before counts in
    weighted and floored, so just past a minute's edge the hits of a moment ago count one
    less, and one more request than the limit goes through. That is the limiter's
    approximation, bounded to one request, not a defect a test should meet by chance."""
    left = 60 - time.time() % 60
    if left < 10:
        await asyncio.sleep(left + 0.05)


@pytest.fixture(scope="session")
def gateway_factory(make_settings: Callable[..., GatewaySettings]) -> GatewayFactory:
    def factory(**overrides: Any) -> contextlib.AbstractAsyncContextManager[Gateway]:
        return run_gateway(make_settings(**overrides))

    return factory


@pytest.fixture(scope="session")
async def gateway(gateway_factory: GatewayFactory) -> AsyncIterator[Gateway]:
    """One gateway shared by the tests that stay well under its rate limits."""
    async with gateway_factory() as running:
        yield running
