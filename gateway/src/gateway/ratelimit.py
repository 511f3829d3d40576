"""Per-client rate limits: a moving window from the ``limits`` library.

The window lives in ``GATEWAY_RATE_LIMIT_STORAGE_URI``: ``async+memory://`` (the
default) keeps it in each pod, so N replicas allow up to N times the limit; an
``async+redis://…`` URI shares it between replicas."""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerMinute
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from customs_shared.problems import TooManyRequests


def open_storage(uri: str) -> Storage:
    """The async storage an ``async+…://`` URI names."""
    storage = storage_from_string(uri)
    if not isinstance(storage, Storage):
        raise ValueError(f"rate limit storage must be async (async+memory://…), not {uri!r}")
    return storage


class RateLimiter:
    """``limit`` requests per minute per key."""

    def __init__(self, limit: int, storage: Storage, *, namespace: str) -> None:
        self.limit = limit
        self._item = RateLimitItemPerMinute(limit, namespace=namespace)
        self._strategy = MovingWindowRateLimiter(storage)

    async def check(self, key: str) -> None:
        """Raises a 429 problem (with ``Retry-After``) when ``key`` is over its limit."""
        if await self._strategy.hit(self._item, key):
            return
        window = await self._strategy.get_window_stats(self._item, key)
        raise TooManyRequests(
            f"Rate limit of {self.limit} requests per minute exceeded.",
            retry_after=max(1, math.ceil(window.reset_time - time.time())),
        )
