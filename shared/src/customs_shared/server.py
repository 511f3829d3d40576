"""Runs a service under uvicorn with graceful shutdown."""

from __future__ import annotations

import os

import uvicorn


def serve(app: str, *, default_port: int, env_prefix: str) -> None:
    """``app`` is ``module:factory``. SIGTERM lets in-flight requests finish, then
    the lifespan stops consumers (committing offsets) and flushes the outbox."""
    uvicorn.run(
        app,
        factory=True,
        host=os.environ.get(f"{env_prefix}HOST", "127.0.0.1"),
        port=int(os.environ.get(f"{env_prefix}PORT", str(default_port))),
        log_config=None,
        access_log=False,
        proxy_headers=True,
        timeout_graceful_shutdown=int(os.environ.get(f"{env_prefix}SHUTDOWN_GRACE_SECONDS", "20")),
        lifespan="on",
    )
