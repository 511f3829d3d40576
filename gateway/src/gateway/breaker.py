"""A circuit breaker per upstream service.

After ``failures`` requests in a row could not reach a service (connection refused,
timeout), the breaker opens: for ``open_seconds`` the gateway answers 503 with
``Retry-After`` at once instead of making every caller wait for the connect or read
timeout. Then one trial request goes through (half-open): its success closes the
breaker, its failure opens it again. Answers of the service, errors included, count
as reachable: a 500 is the service's to explain, not a reason to stop calling it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from enum import StrEnum

from gateway.errors import UpstreamUnavailable


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        failures: int,
        open_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._threshold = failures
        self._open_seconds = open_seconds
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at < self._open_seconds:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    def before_call(self) -> None:
        """Raises :class:`UpstreamUnavailable` while open, or while a half-open trial
        is already running; otherwise the call may go ahead."""
        state = self.state
        if state is BreakerState.CLOSED:
            return
        if state is BreakerState.HALF_OPEN and not self._trial_running:
            self._trial_running = True
            return
        assert self._opened_at is not None
        remaining = self._open_seconds - (self._clock() - self._opened_at)
        raise UpstreamUnavailable(
            f"The {self.name} service is not reachable; the gateway stopped calling it "
            "for a moment.",
            retry_after=max(1, math.ceil(remaining)),
        )

    def succeeded(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial_running = False

    def abandoned(self) -> None:
        """The call ended without telling whether the service is reachable."""
        self._trial_running = False

    def failed(self) -> None:
        self._trial_running = False
        if self._opened_at is not None:  # the half-open trial failed
            self._opened_at = self._clock()
            return
        self._failures += 1
        if self._failures >= self._threshold:
            self._opened_at = self._clock()


class Breakers:
    """One breaker per upstream path segment."""

    def __init__(self, segments: list[str], *, failures: int, open_seconds: float) -> None:
        self._breakers = {
            segment: CircuitBreaker(segment, failures=failures, open_seconds=open_seconds)
            for segment in segments
        }

    def __getitem__(self, segment: str) -> CircuitBreaker:
        return self._breakers[segment]
