"""The relay's claim on a real PostgreSQL: one statement marks the oldest unpublished
events and hands them back in order, skips what another relay holds, and leaves what a
rollback gives back. The relay's pass holds it in a transaction of the driver's own,
which must never outlive the pass on a pooled connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from customs_shared.db import create_engine
from customs_shared.messaging.repository import claim_for_publishing, claimed_for_publishing

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


@pytest.fixture
async def one_connection(
    scratch_sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncEngine]:
    """An engine of one pooled connection: every pass gets the one the last pass left."""
    url = scratch_sessions.kw["bind"].url.render_as_string(hide_password=False)
    engine = create_engine(url, pool_size=1)
    yield engine
    await engine.dispose()


async def _unpublished(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT key FROM outbox_events WHERE published_at IS NULL ORDER BY seq")
        )
        return [key for (key,) in rows]


async def _left_in_a_transaction(engine: AsyncEngine) -> bool:
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        return bool(driver.is_in_transaction())


async def test_a_pass_publishes_when_its_block_ends_and_gives_back_when_it_raises(
    scratch_sessions: async_sessionmaker[AsyncSession], one_connection: AsyncEngine
) -> None:
    async with scratch_sessions() as session, session.begin():
        await _queue(session, 3)

    async def refused() -> None:
        async with claimed_for_publishing(one_connection, 2) as rows:
            assert [row.key for row in rows] == ["k-1", "k-2"]
            raise RuntimeError("the broker refused them")

    with pytest.raises(RuntimeError):
        await refused()
    assert not await _left_in_a_transaction(one_connection)
    assert await _unpublished(one_connection) == ["k-1", "k-2", "k-3"]
    async with claimed_for_publishing(one_connection, 2) as rows:
        assert [row.key for row in rows] == ["k-1", "k-2"]
    assert await _unpublished(one_connection) == ["k-3"]


async def test_a_pass_cancelled_midway_leaves_its_rows_and_no_open_transaction(
    scratch_sessions: async_sessionmaker[AsyncSession], one_connection: AsyncEngine
) -> None:
    async with scratch_sessions() as session, session.begin():
        await _queue(session, 2)
    claimed = asyncio.Event()

    async def sending() -> None:
        async with claimed_for_publishing(one_connection, 10):
            claimed.set()
            await asyncio.sleep(30)  # the broker answers no more

    task = asyncio.create_task(sending())
    await asyncio.wait_for(claimed.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not await _left_in_a_transaction(one_connection)
    assert await _unpublished(one_connection) == ["k-1", "k-2"]


async def test_a_pass_whose_connection_dies_leaves_its_rows_and_the_next_pass_reconnects(
    scratch_sessions: async_sessionmaker[AsyncSession], one_connection: AsyncEngine
) -> None:
    async with scratch_sessions() as session, session.begin():
        await _queue(session, 2)

    async def cut_off() -> None:
        async with claimed_for_publishing(one_connection, 10) as rows:
            assert len(rows) == 2
            async with scratch_sessions() as session:
                await session.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE state = 'idle in transaction' AND query LIKE 'UPDATE outbox%'"
                    )
                )
            await asyncio.sleep(0.2)

    with pytest.raises(asyncpg.InterfaceError, match="connection is closed"):
        await cut_off()
    async with claimed_for_publishing(one_connection, 10) as rows:
        assert [row.key for row in rows] == ["k-1", "k-2"]
    assert await _unpublished(one_connection) == []
