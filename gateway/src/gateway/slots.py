"""Bounds on costly work in progress: a fixed number of slots with a short, bounded
line in front of them, and a cap per key (per caller) on top.

An unbounded line turns overload into latency for everyone: each request that
cannot be served soon is refused at once (503 ``busy`` with ``Retry-After``), so
those already admitted still finish in time. The cap per key keeps one caller
from filling the line by itself (429 with ``Retry-After``). Both count this
process only: they bound this process's CPU, whatever the other replicas do.
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import AsyncIterator, Iterator

import anyio

from customs_shared.problems import TooManyRequests
from gateway.errors import Busy


class BoundedSlots:
    """``slots`` holders at once; at most ``max_waiting`` more wait, each at most
    ``max_wait_seconds``. Anyone beyond that gets :class:`Busy`."""

    def __init__(
        self,
        slots: int,
        *,
        max_waiting: int,
        max_wait_seconds: float,
        retry_after_seconds: int = 1,
    ) -> None:
        if slots < 1 or max_waiting < 0 or max_wait_seconds < 0:
            raise ValueError("slots must be ≥ 1, max_waiting and max_wait_seconds ≥ 0")
        self._limiter = anyio.CapacityLimiter(slots)
        self.max_waiting = max_waiting
        self.max_wait_seconds = max_wait_seconds
        self.retry_after_seconds = retry_after_seconds

    @property
    def slots(self) -> int:
        return int(self._limiter.total_tokens)

    @property
    def in_use(self) -> int:
        return self._limiter.borrowed_tokens

    @property
    def waiting(self) -> int:
        return self._limiter.statistics().tasks_waiting

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Holds a slot for the body of the ``async with``; raises :class:`Busy` when
        none is free soon enough."""
        # Its own borrower per use: one task may hold several slots (e.g. nested calls),
        # and a slot is released by whoever holds this object.
        borrower = object()
        try:
            self._limiter.acquire_on_behalf_of_nowait(borrower)
        except anyio.WouldBlock:
            if self.waiting >= self.max_waiting:
                raise self._busy() from None
            with anyio.move_on_after(self.max_wait_seconds) as waited:
                await self._limiter.acquire_on_behalf_of(borrower)
            if waited.cancelled_caught:
                raise self._busy() from None
        try:
            yield
        finally:
            self._limiter.release_on_behalf_of(borrower)

    def _busy(self) -> Busy:
        return Busy(
            f"No free slot; retry in {self.retry_after_seconds} s.",
            retry_after=self.retry_after_seconds,
        )


class InFlightPerKey:
    """At most ``limit`` holders per key at once; one more gets a 429 at once."""

    def __init__(self, limit: int, *, retry_after_seconds: int = 1) -> None:
        if limit < 1:
            raise ValueError("limit must be ≥ 1")
        self.limit = limit
        self.retry_after_seconds = retry_after_seconds
        self._held: collections.Counter[str] = collections.Counter()

    def held(self, key: str) -> int:
        return self._held[key]

    @contextlib.contextmanager
    def hold(self, key: str) -> Iterator[None]:
        if self._held[key] >= self.limit:
            raise TooManyRequests(
                f"{self.limit} requests of this caller are in progress already; "
                f"retry in {self.retry_after_seconds} s.",
                retry_after=self.retry_after_seconds,
            )
        self._held[key] += 1
        try:
            yield
        finally:
            self._held[key] -= 1
            if self._held[key] <= 0:
                del self._held[key]  # keep one entry per caller in progress, not per caller seen
