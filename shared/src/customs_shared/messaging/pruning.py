"""Keeps the messaging tables bounded: published outbox rows and handled event ids are
deleted once they are older than their retention, in small batches so a pass never
holds many locks or a long transaction."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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
        self._interval = interval_seconds
        self._task: asyncio.Task[None] | None = None

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

    async def _run(self) -> None:
        while True:
            try:
                published, processed = await self.prune_once()
                if published or processed:
                    log.info(
                        "messaging tables pruned",
                        extra={"outbox_rows": published, "processed_ids": processed},
                    )
                if published == BATCH or processed == BATCH:
                    continue  # a backlog: the next batch at once
            except Exception:  # the next pass retries; nothing is lost by waiting
                log.exception("messaging prune failed")
            await asyncio.sleep(self._interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="messaging-prune")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
