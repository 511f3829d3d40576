"""The gateway lets an idle connection to a service go before the service closes it: a
request sent on a connection the service is closing at that moment fails (a 502 the fault
tests met on a declaration after a few idle seconds)."""

from __future__ import annotations

import asyncio

import uvicorn
from fastapi import FastAPI, Request

from customs_shared.server import KEEP_ALIVE_SECONDS, listening_socket, uvicorn_config
from customs_shared.settings import ServiceSettings
from gateway.main import UPSTREAM_KEEPALIVE_SECONDS, upstream_client
from gateway.settings import GatewaySettings


def _peer_port_app() -> FastAPI:
    app = FastAPI()

    @app.get("/peer")
    async def peer(request: Request) -> int:
        assert request.client is not None
        return request.client.port

    return app


async def test_an_idle_upstream_connection_is_dropped_before_the_service_drops_it() -> None:
    public = listening_socket("127.0.0.1", 0)
    internal = listening_socket("127.0.0.1", 0)
    settings = ServiceSettings(
        port=public.getsockname()[1], internal_port=internal.getsockname()[1]
    )
    config = uvicorn_config(_peer_port_app(), settings, factory=False)
    config.lifespan = "off"
    server = uvicorn.Server(config)
    task = asyncio.create_task(server._serve(sockets=[public, internal]))  # no signal capture
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    base = f"http://127.0.0.1:{settings.port}"
    try:
        async with upstream_client(GatewaySettings()) as client:

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
    finally:
        server.should_exit = True
        await task
    assert UPSTREAM_KEEPALIVE_SECONDS < KEEP_ALIVE_SECONDS
    assert again == first  # pooled while busy
    assert after_idle != first
