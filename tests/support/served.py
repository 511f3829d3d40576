"""An app served in the test's own event loop the way the services serve it (uvicorn with
the limited protocol, a public and an internal listener on real loopback sockets), without
its lifespan and without taking over the process's signals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI

from customs_shared.server import listening_socket, uvicorn_config
from customs_shared.settings import ServiceSettings


@asynccontextmanager
async def served(
    build: Callable[[ServiceSettings], FastAPI], **settings: Any
) -> AsyncIterator[ServiceSettings]:
    """Serves ``build(settings)`` on two free ports until the block ends; yields the
    settings, whose ``port`` and ``internal_port`` are the listeners'."""
    public = listening_socket("127.0.0.1", 0)
    internal = listening_socket("127.0.0.1", 0)
    service_settings = ServiceSettings(
        port=public.getsockname()[1], internal_port=internal.getsockname()[1], **settings
    )
    config = uvicorn_config(build(service_settings), service_settings, factory=False)
    config.lifespan = "off"
    server = uvicorn.Server(config)
    task = asyncio.create_task(server._serve(sockets=[public, internal]))  # no signal capture
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started
    try:
        yield service_settings
    finally:
        server.should_exit = True
        await task
