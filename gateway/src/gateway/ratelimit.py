"""In-memory per-key rate limits (token bucket).

Each pod keeps its own buckets, so with N gateway replicas a client gets up to
N times the limit; put a shared store behind ``RateLimiter`` if that matters.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from customs_shared.problems import TooManyRequests


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """``limit`` requests per ``period_seconds`` per key, bursts up to ``limit``."""

    def __init__(
        self,
        limit: int,
        period_seconds: float = 60.0,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or period_seconds <= 0:
            raise ValueError("limit must be >= 1 and period_seconds > 0")
        self.limit = limit
        self._rate = limit / period_seconds  # tokens per second
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def acquire(self, key: str) -> float | None:
        """Takes one token for ``key``: None if allowed, else seconds until one is free."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._evict(now)
            bucket = self._buckets[key] = _Bucket(float(self.limit), now)
        else:
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(float(self.limit), bucket.tokens + elapsed * self._rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / self._rate

    def check(self, key: str) -> None:
        """Raises a 429 problem (with ``Retry-After``) when ``key`` is over its limit."""
        wait = self.acquire(key)
        if wait is not None:
            raise TooManyRequests(
                f"Rate limit of {self.limit} requests per minute exceeded.",
                retry_after=max(1, math.ceil(wait)),
            )

    def _evict(self, now: float) -> None:
        """Drops buckets that have refilled (they hold no information), or, if none
        has, the oldest half, so a flood of new keys cannot grow memory unbounded."""
        full = [
            key
            for key, b in self._buckets.items()
            if b.tokens + (now - b.updated) * self._rate >= self.limit
        ]
        if not full:
            by_age = sorted(self._buckets, key=lambda k: self._buckets[k].updated)
            full = by_age[: max(1, len(by_age) // 2)]
        for key in full:
            del self._buckets[key]
