"""Keeps the messaging tables bounded: published outbox rows and handled event ids are
deleted once they are older than their retention, in small batches so a pass never
holds many locks or a long transaction."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.background import Repeating
from customs_shared.db import utcnow
from customs_shared.messaging import repository

log = logging.getLogger(__name__)

BATCH = 5000


class MessagingPruner:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        outbox_retention: timedelta,
        processed_retention: timedelta,
        interval_seconds: float,
    ) -> None:
        self._sessions = sessions
        self._outbox_retention = outbox_retention
        self._processed_retention = processed_retention
        self._repeating = Repeating(
            "messaging-prune", self._one_pass, interval_seconds=interval_seconds
        )

    async def prune_once(self) -> tuple[int, int]:
        """One batch of each table: (outbox rows, processed ids) deleted."""
        now = utcnow()
        async with self._sessions() as session, session.begin():
            published = await repository.prune_published(
                session, now - self._outbox_retention, BATCH
            )
        async with self._sessions() as session, session.begin():
            processed = await repository.prune_processed(
                session, now - self._processed_retention, BATCH
            )
        return published, processed

    async def _one_pass(self) -> bool:
        published, processed = await self.prune_once()
        if published or processed:
            log.info(
                "messaging tables pruned",
                extra={"outbox_rows": published, "processed_ids": processed},
            )
        return published == BATCH or processed == BATCH  # a backlog: the next batch at once

    def start(self) -> None:
        self._repeating.start()

    async def stop(self) -> None:
        await self._repeating.stop()
