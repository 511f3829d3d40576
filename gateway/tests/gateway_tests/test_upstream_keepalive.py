"""The gateway lets an idle connection to a service go before the service closes it: a
request sent on a connection the service is closing at that moment fails (a 502 the fault
tests met on a declaration after a few idle seconds)."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI, Request

from customs_shared.server import KEEP_ALIVE_SECONDS
from customs_shared.settings import ServiceSettings
from gateway.main import UPSTREAM_KEEPALIVE_SECONDS, upstream_client
from gateway.settings import GatewaySettings
from tests.support.served import served


def _peer_port_app(_settings: ServiceSettings) -> FastAPI:
    app = FastAPI()

    @app.get("/peer")
    async def peer(request: Request) -> int:
        assert request.client is not None
        return request.client.port

    return app


async def test_an_idle_upstream_connection_is_dropped_before_the_service_drops_it() -> None:
    async with (
        served(_peer_port_app) as settings,
        upstream_client(GatewaySettings()) as client,
    ):
        base = f"http://127.0.0.1:{settings.port}"

        async def peer() -> int:
            async with client.get(f"{base}/peer") as response:
                port: int = await response.json()
                return port

        first = await peer()
        again = await peer()
        # Idle past the gateway's expiry, still short of the service's keep-alive: the
        # service would still answer on the old connection, but the gateway opens anew.
        await asyncio.sleep((UPSTREAM_KEEPALIVE_SECONDS + KEEP_ALIVE_SECONDS) / 2)
        after_idle = await peer()
    assert UPSTREAM_KEEPALIVE_SECONDS < KEEP_ALIVE_SECONDS
    assert again == first  # pooled while busy
    assert after_idle != first
