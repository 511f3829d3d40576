"""Revocations do not pile up: once every token a revocation refused has expired (the
token lifetime after it was made, plus a margin for clock skew), the gateway publishes a
tombstone for its key; compaction then drops it from the topic, and every process drops
it from its list when the tombstone passes by."""

from __future__ import annotations

import logging
from datetime import timedelta

from customs_shared.background import Repeating
from customs_shared.db import utcnow
from customs_shared.events.catalog import TOKEN_REVOCATIONS
from customs_shared.problems import ProblemError
from customs_shared.revocation import RevocationList
from gateway.publisher import KafkaPublisher

log = logging.getLogger(__name__)

SKEW = timedelta(minutes=5)


class RevocationExpiry:
    def __init__(
        self,
        revocations: RevocationList,
        publisher: KafkaPublisher,
        *,
        token_ttl: timedelta,
        interval_seconds: float,
    ) -> None:
        self._revocations = revocations
        self._publisher = publisher
        self._horizon = token_ttl + SKEW
        self._repeating = Repeating(
            "revocation-expiry", self._one_pass, interval_seconds=interval_seconds, wait_first=True
        )

    async def expire_once(self) -> int:
        """Tombstones every revocation past the horizon; how many."""
        expired = self._revocations.older_than(utcnow() - self._horizon)
        for key in expired:
            await self._publisher.tombstone(key, topic=TOKEN_REVOCATIONS.name)
            self._revocations.forget(key)
        return len(expired)

    async def _one_pass(self) -> bool:
        try:
            if expired := await self.expire_once():
                log.info("expired token revocations dropped", extra={"count": expired})
        except ProblemError:  # Kafka away: the next pass tries again
            log.warning("token revocations not expired now")
        return False

    def start(self) -> None:
        self._repeating.start()

    async def stop(self) -> None:
        await self._repeating.stop()
