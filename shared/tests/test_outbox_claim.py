"""The relay's claim on a real PostgreSQL: one statement marks the oldest unpublished
events and hands them back in order, skips what another relay holds, and leaves what a
rollback gives back."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.messaging.repository import claim_for_publishing

pytestmark = pytest.mark.integration


async def _queue(session: AsyncSession, count: int) -> None:
    await session.execute(
        text(
            "INSERT INTO outbox_events (event_id, topic, key, payload, created_at) "
            "SELECT gen_random_uuid(), 't', 'k-' || n, '\\x7b7d', now() "
            "FROM generate_series(1, :count) AS n"
        ),
        {"count": count},
    )


async def test_a_claim_marks_the_oldest_in_order_and_skips_what_another_relay_holds(
    scratch_sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with scratch_sessions() as session, session.begin():
        await _queue(session, 5)
    engine = scratch_sessions.kw["bind"]
    async with engine.begin() as first:
        held = await claim_for_publishing(first, 2)
        async with engine.connect() as second:
            transaction = await second.begin()
            refused = await claim_for_publishing(second, 10)
            await transaction.rollback()  # the broker refused them: they stay unpublished
        async with engine.begin() as third:
            again = await claim_for_publishing(third, 10)
    assert [row.key for row in held + again] == ["k-1", "k-2", "k-3", "k-4", "k-5"]
    assert [row.seq for row in refused] == [row.seq for row in again]
    async with scratch_sessions() as session:
        left = await session.scalar(
            text("SELECT count(*) FROM outbox_events WHERE published_at IS NULL")
        )
    assert left == 0
