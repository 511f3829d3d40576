"""Background task: decides declarations whose screenings are overdue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from customs_shared.app import BackgroundFactory, Runtime
from routing_svc.lanes import service
from routing_svc.lanes.service import LanePolicy
from routing_svc.settings import RoutingSettings

log = logging.getLogger(__name__)


def overdue_sweeper(
    policy: LanePolicy, *, interval_seconds: float
) -> BackgroundFactory[RoutingSettings]:
    """Every ``interval_seconds``, decides the cases past their deadline."""

    @contextlib.asynccontextmanager
    async def sweeping(runtime: Runtime[RoutingSettings]) -> AsyncIterator[None]:
        async def sweep_forever() -> None:
            while True:
                try:
                    async with runtime.sessions() as session, session.begin():
                        decided = await service.decide_overdue(session, policy=policy)
                    if decided:
                        log.info("overdue declarations decided", extra={"count": decided})
                        continue
                except Exception:  # the next sweep retries; a failed pass loses nothing
                    log.exception("overdue sweep failed")
                await asyncio.sleep(interval_seconds)

        task = asyncio.create_task(sweep_forever(), name="overdue-sweeper")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return sweeping
