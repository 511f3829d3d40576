"""All SQL of the outbox and the processed-event table."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, delete, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.dml import Update

from customs_shared.db import (
    batch_insert,
    batch_parameters,
    insert_if_absent,
    utcnow,
)
from customs_shared.messaging.models import OutboxEvent, ProcessedEvent


class Claimed(NamedTuple):
    """An event to publish: what the relay sends, and when it was queued."""

    seq: int
    topic: str
    key: str
    payload: bytes
    created_at: datetime


@functools.cache
def _claim_statement(limit: int) -> Update:
    # Built once per batch size: building it cost about a sixth of a one-event pass.
    table = cast(Table, OutboxEvent.__table__)
    # SKIP LOCKED lets several relay replicas share the table without blocking.
    oldest = (
        select(table.c.seq)
        .where(table.c.published_at.is_(None))
        .order_by(table.c.seq)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    # `IN (…)`, not `= ANY(ARRAY(…))`: with prepared statements on PostgreSQL the latter
    # cost the backend about 1.7 ms a pass against 0.6, in a backlog 3.6 against 3.0.
    return (
        update(table)
        .where(table.c.seq.in_(oldest))
        .values(published_at=bindparam("now"))
        .returning(table.c.seq, table.c.topic, table.c.key, table.c.payload, table.c.created_at)
    )


async def claim_for_publishing(connection: AsyncConnection, limit: int) -> list[Claimed]:
    """Marks the oldest ``limit`` unpublished events published and returns them in the
    order they were queued: one statement. Until the caller's transaction commits, the
    rows stay locked and a rollback (the broker refused them) leaves them unpublished.
    On a Core connection, not a session: the relay loads no objects. With the statement
    built once, a one-event pass costs the relay 0.7-0.9 ms of CPU instead of 1.3-1.7
    through a session (measured on PostgreSQL)."""
    rows = await connection.execute(_claim_statement(limit), {"now": utcnow()})
    # RETURNING follows no order: per-key order is the queue's, by seq.
    return sorted(Claimed(*row) for row in rows)


async def count_unpublished(connection: AsyncConnection) -> int:
    statement = (
        select(func.count()).select_from(OutboxEvent).where(OutboxEvent.published_at.is_(None))
    )
    return int((await connection.scalar(statement)) or 0)


async def remember_processed(session: AsyncSession, consumer: str, event_id: str) -> bool:
    """Records the event as handled; False if this consumer already handled it.

    Of two replicas racing on the same event, one inserts and handles it, the other
    waits for that insert to commit and then skips the event."""
    return await insert_if_absent(session, ProcessedEvent, consumer=consumer, event_id=event_id)


async def remember_all_processed(
    session: AsyncSession, consumer: str, event_ids: Sequence[str]
) -> set[str]:
    """:func:`remember_processed` for a whole batch in one statement: the ids this
    consumer had not handled yet. Sorted, so that two replicas inserting overlapping
    batches take the row locks in the same order and cannot deadlock."""
    if not event_ids:
        return set()
    now = utcnow()
    rows = [
        {"consumer": consumer, "event_id": event_id, "processed_at": now}
        for event_id in sorted(set(event_ids))
    ]
    dialect = session.get_bind().dialect.name
    statement = _remember_statement(dialect)
    table = cast(Table, ProcessedEvent.__table__)
    parameters = batch_parameters(table, rows, _REMEMBERED, dialect)
    return set((await session.execute(statement, parameters)).scalars())


_REMEMBERED = ("consumer", "event_id", "processed_at")


@functools.cache
def _remember_statement(dialect: str) -> Any:
    table = cast(Table, ProcessedEvent.__table__)
    statement = batch_insert(table, _REMEMBERED, dialect).on_conflict_do_nothing()
    return statement.returning(table.c.event_id)


async def prune_published(session: AsyncSession, published_before: datetime, limit: int) -> int:
    """Deletes up to ``limit`` outbox rows published before the cutoff, oldest first:
    the primary key leads straight to them, so a pass reads little more than it deletes."""
    oldest = (
        select(OutboxEvent.seq)
        .where(OutboxEvent.published_at.is_not(None), OutboxEvent.published_at < published_before)
        .order_by(OutboxEvent.seq)
        .limit(limit)
    )
    result = await session.execute(delete(OutboxEvent).where(OutboxEvent.seq.in_(oldest)))
    return int(getattr(result, "rowcount", 0) or 0)


async def prune_processed(session: AsyncSession, processed_before: datetime, limit: int) -> int:
    """Forgets up to ``limit`` handled event ids older than the cutoff."""
    oldest = (
        select(ProcessedEvent.consumer, ProcessedEvent.event_id)
        .where(ProcessedEvent.processed_at < processed_before)
        .order_by(ProcessedEvent.processed_at)
        .limit(limit)
    )
    result = await session.execute(
        delete(ProcessedEvent).where(
            tuple_(ProcessedEvent.consumer, ProcessedEvent.event_id).in_(oldest)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
