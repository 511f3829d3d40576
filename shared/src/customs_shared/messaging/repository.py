"""All SQL of the outbox and the processed-event table."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.db import insert_if_absent, utcnow
from customs_shared.messaging.models import OutboxEvent, ProcessedEvent


async def claim_unpublished(session: AsyncSession, limit: int) -> Sequence[OutboxEvent]:
    # SKIP LOCKED lets several relay replicas share the table without blocking;
    # SQLite ignores the clause and serialises writers itself.
    statement = (
        select(OutboxEvent)
        .where(OutboxEvent.published_at.is_(None))
        .order_by(OutboxEvent.seq)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(statement)).all()


async def mark_published(session: AsyncSession, seqs: Sequence[int]) -> None:
    await session.execute(
        update(OutboxEvent).where(OutboxEvent.seq.in_(seqs)).values(published_at=utcnow())
    )


async def count_unpublished(session: AsyncSession) -> int:
    statement = (
        select(func.count()).select_from(OutboxEvent).where(OutboxEvent.published_at.is_(None))
    )
    return int((await session.scalar(statement)) or 0)


async def remember_processed(session: AsyncSession, consumer: str, event_id: str) -> bool:
    """Records the event as handled; False if this consumer already handled it.

    Of two replicas racing on the same event, one inserts and handles it, the other
    waits for that insert to commit and then skips the event."""
    return await insert_if_absent(session, ProcessedEvent, consumer=consumer, event_id=event_id)
