"""The messaging tables stay bounded, on a real PostgreSQL: published outbox rows past
their retention and handled event ids past theirs are deleted; unpublished rows and
recent ids are kept, whatever their age."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.db import utcnow
from customs_shared.messaging.models import OutboxEvent, ProcessedEvent
from customs_shared.messaging.pruning import MessagingPruner
from tests.support.postgres import MigratedSessions

pytestmark = pytest.mark.integration


@pytest.fixture
async def scratch_sessions(migrated_sessions: MigratedSessions) -> async_sessionmaker[AsyncSession]:
    return await migrated_sessions("declaration_svc:migrations")


def outbox_row(key: str, *, age: timedelta, published: bool) -> OutboxEvent:
    created = utcnow() - age
    return OutboxEvent(
        event_id=uuid.uuid4(),
        topic="t",
        key=key,
        payload=b"{}",
        created_at=created,
        published_at=created if published else None,
    )


async def test_old_published_rows_and_old_handled_ids_go_the_rest_stays(
    scratch_sessions: async_sessionmaker[AsyncSession],
) -> None:
    day = timedelta(days=1)
    async with scratch_sessions() as session, session.begin():
        session.add_all(
            [
                outbox_row("old-published", age=2 * day, published=True),
                outbox_row("old-unpublished", age=2 * day, published=False),
                outbox_row("new-published", age=timedelta(minutes=5), published=True),
                ProcessedEvent(consumer="c", event_id="old", processed_at=utcnow() - 9 * day),
                ProcessedEvent(consumer="c", event_id="new", processed_at=utcnow() - day),
            ]
        )
    pruner = MessagingPruner(
        scratch_sessions,
        outbox_retention=timedelta(hours=24),
        processed_retention=8 * day,
        interval_seconds=60,
    )
    assert await pruner.prune_once() == (1, 1)
    assert await pruner.prune_once() == (0, 0)
    async with scratch_sessions() as session:
        keys = set((await session.scalars(select(OutboxEvent.key))).all())
        ids = set((await session.scalars(select(ProcessedEvent.event_id))).all())
    assert keys == {"old-unpublished", "new-published"}
    assert ids == {"new"}
