"""Locking a consumer batch's rows in one statement (customs_shared.db), on PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.db import (
    insert_at_commit,
    lock_all,
    lock_or_insert,
    lock_or_insert_all,
    locked,
    pairs_in,
    upsert,
    utcnow,
)
from customs_shared.messaging.models import OutboxEvent, ProcessedEvent
from customs_shared.messaging.repository import remember_all_processed
from tests.support.postgres import MigratedSessions, sent_statements

pytestmark = pytest.mark.integration


@pytest.fixture
async def sessions(migrated_sessions: MigratedSessions) -> async_sessionmaker[AsyncSession]:
    # Every service's migrations create the messaging tables; routing's are the fewest.
    return await migrated_sessions("routing_svc:migrations")


async def test_a_batch_is_locked_or_created_in_one_statement_and_handed_out_without_more(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    earlier = utcnow().replace(year=2020)
    async with sessions() as session, session.begin():
        session.add(ProcessedEvent(consumer="c", event_id="old", processed_at=earlier))
    async with sessions() as session, session.begin():
        now = utcnow()
        rows = [
            {"consumer": "c", "event_id": "new-2", "processed_at": now},
            {"consumer": "c", "event_id": "old", "processed_at": now},
            {"consumer": "c", "event_id": "new-1", "processed_at": now},
            {"consumer": "c", "event_id": "new-2", "processed_at": now},  # twice: locked once
        ]
        with sent_statements(session.sync_session) as batch:
            await lock_or_insert_all(session, ProcessedEvent, rows)
        with sent_statements(session.sync_session) as after:
            old = await lock_or_insert(session, ProcessedEvent, consumer="c", event_id="old")
            new = locked(session, ProcessedEvent, ("c", "new-1"))
            absent = locked(session, ProcessedEvent, ("c", "never"))

        assert len(batch) == 1
        assert after == []
        assert old.processed_at == earlier  # an existing row is locked as it was, not rewritten
        assert new is not None
        assert new.event_id == "new-1"
        assert absent is None
    async with sessions() as session:
        stored = await session.scalars(
            select(ProcessedEvent.event_id).where(ProcessedEvent.consumer == "c")
        )
        assert sorted(stored) == ["new-1", "new-2", "old"]


async def test_lock_all_locks_the_existing_rows_in_one_select(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        session.add_all(
            OutboxEvent(event_id=uuid.uuid4(), topic="t", key=str(n), payload=b"") for n in range(3)
        )
    async with sessions() as session, session.begin():
        seqs = list(await session.scalars(select(OutboxEvent.seq).order_by(OutboxEvent.seq)))
    async with sessions() as session, session.begin():
        with sent_statements(session.sync_session) as statements:
            await lock_all(session, OutboxEvent, [*seqs, seqs[0], 10**9])
            await lock_all(session, OutboxEvent, seqs[:1])  # already held: no statement

        assert len(statements) == 1
        assert "FOR UPDATE" in statements[0]
        assert [getattr(locked(session, OutboxEvent, s), "key", None) for s in seqs] == [
            "0",
            "1",
            "2",
        ]
        assert locked(session, OutboxEvent, 10**9) is None


async def test_rows_queued_for_the_commit_are_written_with_it_or_dropped_with_a_rollback(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    def processed(event_id: str) -> ProcessedEvent:
        return ProcessedEvent(consumer="at-commit", event_id=event_id)

    async with sessions() as session, session.begin():
        for event_id in ("kept-1", "kept-2"):
            insert_at_commit(session, processed(event_id))
        assert not session.new  # not in the unit of work
        with sent_statements(session.sync_session) as statements:
            await session.commit()
        assert len(statements) == 1
    async with sessions() as session:
        await session.begin()
        insert_at_commit(session, processed("rolled-back"))
        await session.rollback()
    # A session of another factory has no hook: the row goes through the unit of work.
    engine = sessions.kw["bind"]
    async with async_sessionmaker(engine)() as plain, plain.begin():
        insert_at_commit(plain, processed("plain"))
        assert len(plain.new) == 1
    async with sessions() as session:
        stored = await session.scalars(
            select(ProcessedEvent.event_id).where(ProcessedEvent.consumer == "at-commit")
        )
        assert sorted(stored) == ["kept-1", "kept-2", "plain"]


async def test_batches_of_any_size_send_one_statement_text(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """PostgreSQL keeps a plan per statement text each connection prepares: a text per
    batch size would fill the connections' statement caches and the backends' memory."""
    texts: dict[str, set[str]] = {
        "lock_or_insert_all": set(),
        "remember": set(),
        "lock_all": set(),
        "upsert": set(),
        "pairs_in": set(),
    }
    for size in (1, 2, 7):
        async with sessions() as session, session.begin():
            now = utcnow()
            ids = [f"{size}-{n}" for n in range(size)]
            rows = [{"consumer": "s", "event_id": i, "processed_at": now} for i in ids]
            with sent_statements(session.sync_session) as sent:
                await lock_or_insert_all(session, ProcessedEvent, rows)
            texts["lock_or_insert_all"].update(sent)
            with sent_statements(session.sync_session) as sent:
                fresh = await remember_all_processed(session, "other", ids)
            texts["remember"].update(sent)
            assert fresh == set(ids)
            seqs = list(range(size * 100, size * 100 + size))
            with sent_statements(session.sync_session) as sent:
                await lock_all(session, OutboxEvent, seqs)
            texts["lock_all"].update(sent)
            with sent_statements(session.sync_session) as sent:
                await upsert(session, ProcessedEvent, rows, update=["processed_at"])
            texts["upsert"].update(sent)
            pairs = [("s", i) for i in ids]
            wanted = pairs_in(ProcessedEvent.consumer, ProcessedEvent.event_id, pairs, "postgresql")
            with sent_statements(session.sync_session) as sent:
                found = await session.scalars(select(ProcessedEvent.event_id).where(wanted))
            texts["pairs_in"].update(sent)
            assert sorted(found) == sorted(ids)

    assert {name: len(sent) for name, sent in texts.items()} == {
        "lock_or_insert_all": 1,
        "remember": 1,
        "lock_all": 1,
        "upsert": 1,
        "pairs_in": 1,
    }


async def test_an_upsert_is_compiled_once_and_updates_what_it_names(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A multi-row ``.values([...])`` has no cache key: SQLAlchemy compiled it on every
    call. The upsert is now built once and its compiled form reused."""
    engine = sessions.kw["bind"].sync_engine
    cache_hits: list[bool] = []

    def record(*args: Any) -> None:
        context = args[4]
        if "ON CONFLICT" in str(args[2]):
            cache_hits.append(context.cache_hit == context.dialect.CACHE_HIT)

    earlier, later = utcnow().replace(year=2020), utcnow()
    event.listen(engine, "after_cursor_execute", record)
    try:
        for processed_at, event_ids in (
            (earlier, ["u-1"]),
            (earlier, ["u-1", "u-2"]),
            (later, ["u-2"]),
            (later, ["u-1", "u-2"]),
        ):
            async with sessions() as session, session.begin():
                rows = [
                    {"consumer": "upsert", "event_id": i, "processed_at": processed_at}
                    for i in event_ids
                ]
                await upsert(session, ProcessedEvent, rows, update=["processed_at"])
    finally:
        event.remove(engine, "after_cursor_execute", record)
    # Compiled once for one row and once for many (an executemany), then reused.
    assert cache_hits[2:] == [True, True]
    async with sessions() as session:
        stored = await session.execute(
            select(ProcessedEvent.event_id, ProcessedEvent.processed_at).where(
                ProcessedEvent.consumer == "upsert"
            )
        )
        assert {row.event_id: row.processed_at for row in stored} == {"u-1": later, "u-2": later}
