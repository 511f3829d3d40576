"""Runs a service under uvicorn with graceful shutdown."""

from __future__ import annotations

import uvicorn

from customs_shared.settings import ServiceSettings


def serve(app: str, settings: ServiceSettings) -> None:
    """``app`` is ``module:factory``. SIGTERM lets in-flight requests finish (for up to
    ``shutdown_grace_seconds``), then the lifespan stops the consumer (committing its
    offsets) and flushes the outbox."""
    uvicorn.run(
        app,
        factory=True,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        lifespan="on",
    )
