"""Rate limits: sliding window counters from the ``limits`` library.

A counter per key and minute, the previous minute's weighted by how much of it is still
in the window: two numbers a key, where a moving window keeps a timestamp per request
(and the library's in-memory storage sweeps every list in a worker thread on each hit,
about a sixth of the gateway's CPU under load).

The window lives in ``GATEWAY_RATE_LIMIT_STORAGE_URI``: ``async+memory://`` (the
default) keeps it in each pod, so N replicas allow up to N times the limit; an
``async+redis://…`` URI shares it between replicas."""

from __future__ import annotations

import math
import time
from urllib.parse import quote

from limits import RateLimitItemPerMinute
from limits.aio.storage import Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from customs_shared.problems import TooManyRequests


def open_storage(uri: str) -> Storage:
    """The async storage an ``async+…://`` URI names."""
    storage = storage_from_string(uri)
    if not isinstance(storage, Storage):
        raise ValueError(f"rate limit storage must be async (async+memory://…), not {uri!r}")
    return storage


class RateLimiter:
    """``limit`` events per minute per key. A key is one or more parts; each part is
    percent-encoded, so parts a caller chooses (a claimed client id) cannot run into
    the next part and forge another key."""

    def __init__(
        self, limit: int, storage: Storage, *, namespace: str, counts: str = "requests"
    ) -> None:
        self.limit = limit
        self.namespace = namespace
        self.counts = counts
        self._item = RateLimitItemPerMinute(limit, namespace=namespace)
        self._items: dict[int, RateLimitItemPerMinute] = {}
        self._strategy = SlidingWindowCounterRateLimiter(storage)

    async def check(self, *key: str, limit: int | None = None) -> None:
        """Counts one request; raises a 429 problem (with ``Retry-After``) when ``key``
        is over its limit (``limit`` when given: a client's own), and then does not
        count it."""
        item = self._item_for(limit)
        if not await self._strategy.hit(item, *_parts(key)):
            raise await self._exceeded(key, item)

    def _item_for(self, limit: int | None) -> RateLimitItemPerMinute:
        if limit is None or limit == self.limit:
            return self._item
        item = self._items.get(limit)
        if item is None:
            item = self._items[limit] = RateLimitItemPerMinute(limit, namespace=self.namespace)
        return item

    async def ensure_room(self, *key: str) -> None:
        """Raises the 429 problem if ``key`` has no room left; counts nothing."""
        if not await self._strategy.test(self._item, *_parts(key)):
            raise await self._exceeded(key)

    async def record(self, *key: str) -> None:
        """Counts one event, if the window has room for it (a full window stays full)."""
        await self._strategy.hit(self._item, *_parts(key))

    async def _exceeded(
        self, key: tuple[str, ...], item: RateLimitItemPerMinute | None = None
    ) -> TooManyRequests:
        item = item or self._item
        window = await self._strategy.get_window_stats(item, *_parts(key))
        return TooManyRequests(
            f"Rate limit of {item.amount} {self.counts} per minute exceeded.",
            retry_after=max(1, math.ceil(window.reset_time - time.time())),
        )


def _parts(key: tuple[str, ...]) -> list[str]:
    return [quote(part, safe="") for part in key]
