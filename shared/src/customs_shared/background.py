"""Periodic jobs a service runs beside its API, each pass in its own transaction."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.app import BackgroundFactory, Runtime

log = logging.getLogger(__name__)

# A pass: gets its transaction's session and the service's runtime (HTTP client, settings).
Job = Callable[[AsyncSession, Runtime[Any]], Awaitable[int]]
# A pass that opens its own transactions (runtime.sessions), e.g. to call out between them.
RuntimeJob = Callable[[Runtime[Any]], Awaitable[int]]


def periodic(name: str, job: Job, *, interval_seconds: float) -> BackgroundFactory[Any]:
    """Runs ``job`` every ``interval_seconds`` until the service stops, each pass in one
    transaction. ``job`` returns how many rows it handled; a failed pass is logged and the
    next one retries."""

    async def in_transaction(runtime: Runtime[Any]) -> int:
        async with runtime.sessions() as session, session.begin():
            return await job(session, runtime)

    return periodic_runtime(name, in_transaction, interval_seconds=interval_seconds)


def periodic_runtime(
    name: str, job: RuntimeJob, *, interval_seconds: float
) -> BackgroundFactory[Any]:
    """Like :func:`periodic`, for a ``job`` that manages its own transactions."""

    @contextlib.asynccontextmanager
    async def running(runtime: Runtime[Any]) -> AsyncIterator[None]:
        async def forever() -> None:
            while True:
                try:
                    handled = await job(runtime)
                    if handled:
                        log.info("periodic job done", extra={"job": name, "count": handled})
                except Exception:
                    log.exception("periodic job failed", extra={"job": name})
                await asyncio.sleep(interval_seconds)

        task = asyncio.create_task(forever(), name=name)
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return running
