"""The relay's claim on a real PostgreSQL: one statement marks the oldest unpublished
events and hands them back in order, skips what another relay holds, and finds its rows
by primary key however many rows wait (a backlog after an outage of the broker)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.messaging.repository import claim_for_publishing, claim_statement
from tests.support.postgres import plan_of

pytestmark = pytest.mark.integration

BACKLOG = 20_000


async def _queue(session: AsyncSession, count: int, *, published: bool = False) -> None:
    await session.execute(
        text(
            "INSERT INTO outbox_events (event_id, topic, key, payload, created_at, published_at) "
            "SELECT gen_random_uuid(), 't', 'k-' || n, 'x', now(), "
            "CASE WHEN :published THEN now() END FROM generate_series(1, :count) AS n"
        ),
        {"published": published, "count": count},
    )


async def test_a_claim_marks_the_oldest_in_order_and_skips_what_another_relay_holds(
    scratch_sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with scratch_sessions() as session, session.begin():
        await _queue(session, 5)
    async with scratch_sessions() as first, first.begin():
        held = await claim_for_publishing(first, 2)
        async with scratch_sessions() as second, second.begin():
            rest = await claim_for_publishing(second, 10)
            await second.rollback()  # the broker refused them: they stay unpublished
        async with scratch_sessions() as third, third.begin():
            again = await claim_for_publishing(third, 10)
    seqs = [row.seq for row in held + again]
    assert [row.key for row in held + again] == ["k-1", "k-2", "k-3", "k-4", "k-5"]
    assert seqs == sorted(seqs)
    assert [row.seq for row in rest] == [row.seq for row in again]
    async with scratch_sessions() as session:
        left = await session.scalar(
            text("SELECT count(*) FROM outbox_events WHERE published_at IS NULL")
        )
    assert left == 0


async def test_a_claim_finds_its_rows_by_primary_key_in_a_backlog(
    scratch_sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Each pass of a catch-up takes its 200 rows by key: a plan that scanned the whole
    table (a hash join on `IN (…)`, which PostgreSQL picks here) would make the catch-up
    quadratic."""
    async with scratch_sessions() as session, session.begin():
        await _queue(session, 100, published=True)
        await _queue(session, BACKLOG)
    async with scratch_sessions() as session:
        plan = await plan_of(session, claim_statement(200, "postgresql"))
    assert "Seq Scan" not in plan, plan
    assert "pk_outbox_events" in plan, plan
