"""Background task: decides declarations whose screenings are overdue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from customs_shared.app import Runtime
from routing_svc.lanes.consumer import build_router
from routing_svc.settings import RoutingSettings

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def overdue_sweeper(runtime: Runtime) -> AsyncIterator[None]:
    settings = runtime.settings
    assert isinstance(settings, RoutingSettings)
    router = build_router(settings)

    async def sweep_forever() -> None:
        while True:
            try:
                async with runtime.sessions() as session, session.begin():
                    decided = await router.decide_overdue(session)
                if decided:
                    log.info("overdue declarations decided", extra={"count": decided})
                    continue
            except Exception:  # the next sweep retries; a failed pass loses nothing
                log.exception("overdue sweep failed")
            await asyncio.sleep(settings.sweep_interval_seconds)

    task = asyncio.create_task(sweep_forever(), name="overdue-sweeper")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
