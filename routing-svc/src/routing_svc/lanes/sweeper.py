"""Background task: decides declarations whose screenings are overdue."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from customs_shared.app import BackgroundFactory, Runtime
from customs_shared.background import Repeating
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
        async def one_pass() -> bool:
            async with runtime.sessions() as session, session.begin():
                decided = await service.decide_overdue(session, policy=policy)
            if decided:
                log.info("overdue declarations decided", extra={"count": decided})
            return decided > 0  # more may be overdue: sweep again at once

        repeating = Repeating("overdue-sweeper", one_pass, interval_seconds=interval_seconds)
        repeating.start()
        try:
            yield
        finally:
            await repeating.stop()

    return sweeping
