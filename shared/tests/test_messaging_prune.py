"""The messaging tables stay bounded, on a real PostgreSQL: published outbox rows past
their retention and handled event ids past theirs are deleted; unpublished rows and
recent ids are kept, whatever their age; a pass finds its rows by key even when most of
the table is due (the first prune after a long retention)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.db import utcnow
from customs_shared.messaging.models import OutboxEvent, ProcessedEvent
from customs_shared.messaging.pruning import MessagingPruner
from customs_shared.messaging.repository import (
    prune_processed_statement,
    prune_published_statement,
)
from tests.support.postgres import MigratedSessions, plan_of

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


DUE = 20_000


async def test_a_prune_pass_finds_its_rows_by_key_when_most_of_the_table_is_due(
    scratch_sessions: async_sessionmaker[AsyncSession],
) -> None:
    """`IN (…)` is planned here as a hash join over the whole table: each pass of a long
    prune would read every row."""
    async with scratch_sessions() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO outbox_events (event_id, topic, key, payload, created_at, "
                "published_at) SELECT gen_random_uuid(), 't', 'k', 'x', now() - interval "
                "'30 days', now() - interval '30 days' FROM generate_series(1, :due)"
            ),
            {"due": DUE},
        )
        await session.execute(
            text(
                "INSERT INTO processed_events (consumer, event_id, processed_at) "
                "SELECT 'c', 'e-' || n, now() - interval '30 days' "
                "FROM generate_series(1, :due) AS n"
            ),
            {"due": DUE},
        )
    cutoff = utcnow() - timedelta(days=1)
    async with scratch_sessions() as session:
        plans = [
            await plan_of(session, prune_published_statement(cutoff, 1000, "postgresql")),
            await plan_of(session, prune_processed_statement(cutoff, 1000, "postgresql")),
        ]
    for plan in plans:
        assert "Seq Scan" not in plan, plan
    assert "pk_outbox_events" in plans[0], plans[0]
    assert "Tid Scan" in plans[1], plans[1]
