"""Periodic jobs a process runs beside its API: :class:`Repeating` is the one loop (a
pass, a pause, again until stopped; a failed pass is logged and the next one retries),
and :func:`periodic` runs a service's job on it, each pass in its own transaction."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:  # customs_shared.app runs Repeating itself: no import at run time
    from customs_shared.app import BackgroundFactory, Runtime

log = logging.getLogger(__name__)

# A pass: gets its transaction's session and the service's runtime (HTTP client, settings).
Job = Callable[[AsyncSession, "Runtime[Any]"], Awaitable[int]]
# A pass that opens its own transactions (runtime.sessions), e.g. to call out between them.
RuntimeJob = Callable[["Runtime[Any]"], Awaitable[int]]


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
        async def one_pass() -> bool:
            handled = await job(runtime)
            if handled:
                log.info("periodic job done", extra={"job": name, "count": handled})
            return False

        repeating = Repeating(name, one_pass, interval_seconds=interval_seconds)
        repeating.start()
        try:
            yield
        finally:
            await repeating.stop()

    return running


class Repeating:
    """Runs ``one_pass`` every ``interval_seconds`` until stopped. A pass returning True
    has left work behind (a full batch): the next one starts at once. A failed pass is
    logged and the next one retries. ``wait_first``: the first pass comes after one
    interval (the caller did one at start)."""

    def __init__(
        self,
        name: str,
        one_pass: Callable[[], Awaitable[bool]],
        *,
        interval_seconds: float,
        wait_first: bool = False,
    ) -> None:
        self._name = name
        self._pass = one_pass
        self._interval = interval_seconds
        self._wait_first = wait_first
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        if self._wait_first:
            await asyncio.sleep(self._interval)
        while True:
            try:
                if await self._pass():
                    continue
            except Exception:  # the next pass retries; a failed pass loses nothing
                log.exception("periodic job failed", extra={"job": self._name})
            await asyncio.sleep(self._interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
