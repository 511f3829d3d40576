"""Rows queued for the commit (customs_shared.db.insert_at_commit and
insert_values_at_commit), and loaded rows' changes (write_changes_at_commit): on PostgreSQL
the rows of every table go in one statement, and they read back as the unit of work would
have written them."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase

from customs_shared.db import (
    insert_at_commit,
    insert_values_at_commit,
    upsert_values_at_commit,
    utcnow,
    write_changes_at_commit,
    write_queued,
)
from customs_shared.messaging.models import OutboxEvent, ProcessedEvent
from customs_shared.notifications.models import Notification, WebhookSubscription
from customs_shared.outage import is_outage
from tests.support.postgres import MigratedSessions, sent_statements

pytestmark = pytest.mark.integration


class _Base(DeclarativeBase):
    metadata = MetaData()


class Parent(_Base):
    """A table of this test's own (created by the test), with :class:`Child`."""

    __table__ = Table("parents", _Base.metadata, Column("id", Integer, primary_key=True))


class Child(_Base):
    __table__ = Table(
        "children",
        _Base.metadata,
        Column("id", Integer, primary_key=True),
        Column("parent", Integer),
    )


async def _create_parents_and_children(sessions: async_sessionmaker[AsyncSession]) -> None:
    """The tables of :class:`Parent` and :class:`Child`, a child's parent a foreign key."""
    async with sessions() as session, session.begin():
        await session.execute(text("CREATE TABLE parents (id int PRIMARY KEY)"))
        await session.execute(
            text("CREATE TABLE children (id int PRIMARY KEY, parent int REFERENCES parents)")
        )


class Tally(_Base):
    """A table of this test's own, whose loaded rows' changes are written at commit."""

    __table__ = Table(
        "tallies",
        _Base.metadata,
        Column("key", String, primary_key=True),
        Column("count", Integer),
        Column("note", String),
        Column("data", JSON),
        Column("revised", Integer, onupdate=7),
    )


write_changes_at_commit(Tally)


async def _create_tallies(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            text(
                "CREATE TABLE tallies (key text PRIMARY KEY, count int, note text, data json, "
                "revised int)"
            )
        )


@pytest.fixture
async def sessions(migrated_sessions: MigratedSessions) -> async_sessionmaker[AsyncSession]:
    # ipr-svc's migrations hold the messaging and the notification tables.
    return await migrated_sessions("ipr_svc:migrations")


def _rows(tag: str) -> list[Any]:
    """One of each kind of column: JSON lists, objects and null, generated keys, a
    timestamp, a transaction id and scalars left to their defaults."""
    return [
        Notification(tenant=tag, type="t", data={"lines": [1, 2], "none": None}),
        Notification(tenant=tag, type="t", data={"lines": []}),
        # Beyond 64 bits (a certificate serial, a partner's number) and not ASCII: exact.
        Notification(tenant=tag, type="t", data={"serial": 2**80, "name": "Sài Gòn"}),
        WebhookSubscription(
            tenant=tag,
            client_id="c",
            url="https://example.com/hook",
            event_types=["a", "b"],
            secret="s",
            delivered_seq=0,
        ),
        OutboxEvent(event_id=uuid.uuid4(), topic="t", key=tag, payload=b"\x00bytes"),
    ]


def _queue_sample(session: AsyncSession, tag: str) -> None:
    """Queues :func:`_rows` and three processed events of ``tag``."""
    for row in _rows(tag):
        insert_at_commit(session, row)
    insert_values_at_commit(
        session, ProcessedEvent, [{"consumer": tag, "event_id": f"e-{n}"} for n in range(3)]
    )


async def _stored(session: AsyncSession, tag: str) -> dict[str, Any]:
    notifications = (
        await session.scalars(
            select(Notification).where(Notification.tenant == tag).order_by(Notification.seq)
        )
    ).all()
    hook = (
        await session.scalars(select(WebhookSubscription).where(WebhookSubscription.tenant == tag))
    ).one()
    outbox = (await session.scalars(select(OutboxEvent).where(OutboxEvent.key == tag))).one()
    processed = sorted(
        await session.scalars(select(ProcessedEvent.event_id).where(ProcessedEvent.consumer == tag))
    )
    assert all(n.created_at is not None for n in notifications)
    assert len({n.id for n in notifications}) == 3  # a generated key per row, not per statement
    assert len({n.xid for n in notifications}) == 1  # the one writing transaction's
    return {
        "data": [n.data for n in notifications],
        "xid_set": all(n.xid > 0 for n in notifications),
        "hook": (hook.event_types, hook.enabled, hook.delivered_xid, hook.consecutive_failures),
        "hook_has_id": hook.id is not None and hook.next_attempt_at is not None,
        "outbox": (outbox.payload, outbox.published_at is None, outbox.created_at is not None),
        "processed": processed,
    }


async def test_rows_of_several_tables_go_in_one_statement_as_the_unit_of_work_writes_them(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        _queue_sample(session, "queued")
        with sent_statements(session) as statements:
            await session.commit()
        assert len(statements) == 1
        assert len(statements[0].split("INSERT INTO")) - 1 == 4  # one insert per table

    async with sessions() as session, session.begin():
        session.add_all(_rows("unit-of-work"))
        session.add_all(
            ProcessedEvent(consumer="unit-of-work", event_id=f"e-{n}") for n in range(3)
        )

    async with sessions() as session:
        assert await _stored(session, "queued") == await _stored(session, "unit-of-work")
        # JSON null inside a value stays JSON; the values are JSON, not SQL arrays.
        kinds = await session.scalars(
            select(func.json_typeof(Notification.data)).where(Notification.tenant == "queued")
        )
        assert list(kinds) == ["object", "object", "object"]
        stored = await _stored(session, "queued")
        assert stored["data"][-1] == {"serial": 2**80, "name": "Sài Gòn"}
        lists = await session.scalar(
            text(
                "SELECT json_typeof(event_types) FROM webhook_subscriptions WHERE tenant = 'queued'"
            )
        )
        assert lists == "array"


async def test_a_foreign_key_between_tables_of_the_one_statement_holds_either_way(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The statement's inserts run together: a child row queued with its parent is
    accepted, and one without it is refused, the whole statement with it."""
    await _create_parents_and_children(sessions)
    async with sessions() as session, session.begin():
        insert_values_at_commit(session, Child, [{"id": 1, "parent": 1}])
        insert_values_at_commit(session, Parent, [{"id": 1}])
    async with sessions() as session:
        await session.begin()
        insert_values_at_commit(session, Parent, [{"id": 2}])
        insert_values_at_commit(session, Child, [{"id": 2, "parent": 3}])
        with pytest.raises(IntegrityError, match="foreign key"):
            await session.commit()
    async with sessions() as session:
        assert list(await session.scalars(text("SELECT id FROM parents ORDER BY id"))) == [1]
        assert list(await session.scalars(text("SELECT id FROM children ORDER BY id"))) == [1]


async def test_the_statement_is_the_same_whichever_table_was_queued_first(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A consumer's batches write the same tables in whatever order their events came:
    one statement text for them all, compiled and prepared once, not one per order."""
    await _create_parents_and_children(sessions)
    texts = []
    for n, parent_first in ((1, True), (2, False)):
        async with sessions() as session:
            await session.begin()
            queued = [(Parent, {"id": n}), (Child, {"id": n, "parent": n})]
            for model, values in queued if parent_first else reversed(queued):
                insert_values_at_commit(session, model, [values])
            with sent_statements(session) as statements:
                await write_queued(session, at_commit=True)
                await session.commit()
            texts.extend(statements)
    assert len(texts) == 2
    assert texts[0] == texts[1]
    async with sessions() as session:
        assert list(await session.scalars(text("SELECT parent FROM children ORDER BY id"))) == [
            1,
            2,
        ]


async def test_a_tables_rows_keep_the_order_they_were_queued_in_whatever_columns_they_name(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A timeline or a notification queue reads in key order: rows that name different
    columns are still one insert, in the order queued. A column whose default only the
    database computes (the transaction id) cannot be filled in: those rows are written
    table by table instead, still all of them."""
    earlier = utcnow() - timedelta(days=1)

    def note(tenant: str, n: int, **given: Any) -> Notification:
        return Notification(tenant=tenant, type="t", data={"n": n}, **given)

    for tenant, extra in (("mixed", {"created_at": earlier}), ("by-table", {"xid": 7})):
        async with sessions() as session, session.begin():
            insert_at_commit(session, note(tenant, 1, **extra))
            insert_at_commit(session, note(tenant, 2))
            insert_at_commit(session, note(tenant, 3, **extra))
            insert_at_commit(
                session, OutboxEvent(event_id=uuid.uuid4(), topic="t", key=tenant, payload=b"")
            )
            with sent_statements(session) as statements:
                await session.commit()
            assert len(statements) == (1 if tenant == "mixed" else 3)
        async with sessions() as session:
            stored = (
                await session.scalars(
                    select(Notification)
                    .where(Notification.tenant == tenant)
                    .order_by(Notification.seq)
                )
            ).all()
            assert (
                await session.scalar(
                    select(func.count()).select_from(OutboxEvent).where(OutboxEvent.key == tenant)
                )
                == 1
            )
        if tenant == "mixed":
            assert [n.data["n"] for n in stored] == [1, 2, 3]
            assert [n.created_at == earlier for n in stored] == [True, False, True]
        else:
            assert sorted(n.data["n"] for n in stored) == [1, 2, 3]
            assert sorted(n.xid == 7 for n in stored) == [False, True, True]


async def test_rows_queued_if_absent_skip_a_key_already_there_and_can_be_written_early(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A row queued ``if_absent`` whose key is in the table, or queued twice, is skipped,
    alone or in the one statement with other tables; :func:`write_queued` writes the
    queue at once, for a read that must see it."""

    def processed(consumer: str, *ids: str) -> list[dict[str, Any]]:
        return [{"consumer": consumer, "event_id": i} for i in ids]

    for consumer, with_other_table in (("alone", False), ("together", True)):
        async with sessions() as session, session.begin():
            insert_values_at_commit(session, ProcessedEvent, processed(consumer, "there"))
        async with sessions() as session, session.begin():
            insert_values_at_commit(
                session, ProcessedEvent, processed(consumer, "there", "new", "new"), if_absent=True
            )
            if with_other_table:
                insert_at_commit(
                    session,
                    OutboxEvent(event_id=uuid.uuid4(), topic="t", key=consumer, payload=b""),
                )
            with sent_statements(session) as statements:
                await write_queued(session)
                seen = await session.scalar(
                    select(func.count())
                    .select_from(ProcessedEvent)
                    .where(ProcessedEvent.consumer == consumer)
                )
            assert seen == 2  # "there" once, "new" once: visible before the commit
            assert len(statements) == 2  # the queue in one statement, then the read
            with sent_statements(session) as at_commit:
                await session.commit()
            assert at_commit == []  # nothing left to write
        async with sessions() as session:
            stored = await session.scalars(
                select(ProcessedEvent.event_id).where(ProcessedEvent.consumer == consumer)
            )
            assert sorted(stored) == ["new", "there"]


async def test_rows_upserted_at_commit_replace_a_rows_columns_and_the_later_of_a_key_wins(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Upserted at commit: a key already there gets the named columns from the queued
    row (the others stay), a key queued twice is written once, as the later; alone (an
    executemany) or in the one statement with other tables."""
    await _create_tallies(sessions)
    for prefix, with_other_table in (("alone-", False), ("together-", True)):
        a, b, new = prefix + "a", prefix + "b", prefix + "new"
        async with sessions() as session, session.begin():
            insert_values_at_commit(session, Tally, [{"key": a, "count": 1, "note": "old"}])
            insert_values_at_commit(session, Tally, [{"key": b, "count": 1, "note": "kept"}])
        async with sessions() as session, session.begin():
            update = ["count", "note"] if with_other_table else ["count"]
            for key, count, note in ((a, 2, "first"), (b, 5, "?"), (a, 3, "second"), (new, 1, "n")):
                upsert_values_at_commit(
                    session, Tally, [{"key": key, "count": count, "note": note}], update=update
                )
            if with_other_table:
                insert_at_commit(
                    session, OutboxEvent(event_id=uuid.uuid4(), topic="t", key=a, payload=b"")
                )
            with sent_statements(session) as statements:
                await session.commit()
            assert len(statements) == 1
        async with sessions() as session:
            rows = await session.execute(
                text("SELECT key, count, note FROM tallies WHERE key LIKE :p ORDER BY key"),
                {"p": prefix + "%"},
            )
            noted = "second" if with_other_table else "old"
            b_noted = "?" if with_other_table else "kept"
            assert [tuple(r) for r in rows] == [(a, 3, noted), (b, 5, b_noted), (new, 1, "n")]


async def _seen_elsewhere(sessions: async_sessionmaker[AsyncSession], consumer: str) -> list[str]:
    """The event ids of ``consumer`` that another transaction sees: the committed ones."""
    async with sessions() as other:
        stored = await other.scalars(
            select(ProcessedEvent.event_id).where(ProcessedEvent.consumer == consumer)
        )
        return sorted(stored)


async def test_at_commit_the_driver_writes_the_queue_as_the_unit_of_work_would(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """``write_queued(at_commit=True)``, as requests and consumers call it, sends the
    one statement to the driver itself: the rows read back as the commit hook writes
    them, and nothing is left for the commit to send."""
    async with sessions() as session, session.begin():
        _queue_sample(session, "driver")
        with sent_statements(session) as statements:
            await write_queued(session, at_commit=True)
            await session.commit()
        assert len(statements) == 1  # and no BEGIN, no COMMIT: see the next test
    async with sessions() as session, session.begin():
        _queue_sample(session, "hook")
    async with sessions() as session:
        driver, hook = await _stored(session, "driver"), await _stored(session, "hook")
        assert driver["processed"] == ["e-0", "e-1", "e-2"]
        assert {**driver, "processed": []} == {**hook, "processed": []}


async def test_the_queue_alone_is_its_own_transaction_and_never_commits_apart_from_the_rest(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """When nothing else ran in the transaction and nothing is left to flush, the one
    statement commits by itself. When a statement ran before it, or an object is still to
    be flushed after it, it stays inside the transaction, and a rollback takes it back."""
    async with sessions() as session, session.begin():
        insert_values_at_commit(session, ProcessedEvent, [{"consumer": "alone", "event_id": "a"}])
        await write_queued(session, at_commit=True)
        assert await _seen_elsewhere(sessions, "alone") == ["a"]

    async with sessions() as session:
        await session.begin()
        await session.execute(text("SELECT 1"))
        insert_values_at_commit(session, ProcessedEvent, [{"consumer": "after", "event_id": "a"}])
        await write_queued(session, at_commit=True)
        assert await _seen_elsewhere(sessions, "after") == []
        await session.rollback()
    assert await _seen_elsewhere(sessions, "after") == []

    async with sessions() as session:
        await session.begin()
        session.add(ProcessedEvent(consumer="flushed", event_id="orm"))
        insert_values_at_commit(session, ProcessedEvent, [{"consumer": "flushed", "event_id": "q"}])
        await write_queued(session, at_commit=True)
        assert await _seen_elsewhere(sessions, "flushed") == []
        await session.rollback()
    assert await _seen_elsewhere(sessions, "flushed") == []

    async with sessions() as session:
        await session.begin()
        insert_values_at_commit(session, ProcessedEvent, [{"consumer": "early", "event_id": "a"}])
        await write_queued(session)  # not at commit: a read follows, in the same transaction
        assert await _seen_elsewhere(sessions, "early") == []
        await session.rollback()
    assert await _seen_elsewhere(sessions, "early") == []


async def test_the_drivers_errors_are_the_engines_and_a_dead_connection_leaves_the_pool(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A fault of the data raises the engine's ``IntegrityError``; a connection the
    server dropped is an outage (503 or a retry, never a dead letter) and is not handed
    out again."""
    await _create_parents_and_children(sessions)
    async with sessions() as session:
        await session.begin()
        insert_values_at_commit(session, Child, [{"id": 1, "parent": 9}])
        with pytest.raises(IntegrityError, match="foreign key"):
            await write_queued(session, at_commit=True)
        await session.rollback()

    async with sessions() as session:
        await session.begin()
        backend = await session.scalar(text("SELECT pg_backend_pid()"))
        async with sessions() as killer, killer.begin():
            await killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        insert_values_at_commit(session, Parent, [{"id": 1}])
        with pytest.raises(DBAPIError) as raised:
            await write_queued(session, at_commit=True)
        assert is_outage(raised.value)
        assert raised.value.connection_invalidated
        await session.rollback()
    async with sessions() as session, session.begin():
        insert_values_at_commit(session, Parent, [{"id": 2}])
        await write_queued(session, at_commit=True)
    async with sessions() as session:
        assert list(await session.scalars(text("SELECT id FROM parents"))) == [2]


async def test_changes_of_loaded_rows_go_in_the_one_statement_and_only_the_columns_changed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Rows of a model given to ``write_changes_at_commit`` and changed in a transaction
    are written with its queued rows, one ``UPDATE`` for all of them whatever columns each
    changed, at commit and not by the unit of work after it: each row gets the columns
    that changed (a column another transaction set meanwhile keeps that value) and its
    ``onupdate`` columns, and a row left unchanged is not written."""
    await _create_tallies(sessions)
    async with sessions() as session, session.begin():
        session.add_all(Tally(key=k, count=1, note="old", data={"n": 1}, revised=0) for k in "abcd")
    async with sessions() as session:
        await session.begin()
        rows = {s.key: s for s in await session.scalars(select(Tally).order_by(Tally.key))}
        rows["a"].count = 2
        rows["c"].count = 5
        rows["b"].note = "new"
        rows["b"].data = {"n": [2, None], "name": "Hải Phòng"}
        rows["d"].note = "old"  # set to what it was: no change
        insert_values_at_commit(session, ProcessedEvent, [{"consumer": "tallies", "event_id": "e"}])
        async with sessions() as other, other.begin():  # meanwhile, on another connection
            await other.execute(text("UPDATE tallies SET count = 40 WHERE key = 'b'"))
        with sent_statements(session) as statements:
            await write_queued(session, at_commit=True)
            await session.commit()
        assert len(statements) == 1
        assert statements[0].count("UPDATE tallies") == 1  # (count) and (note, data) alike
        assert (rows["a"].revised, rows["b"].revised, rows["d"].revised) == (7, 7, 0)
    async with sessions() as session:
        stored = await session.execute(
            text("SELECT key, count, note, data::text, revised FROM tallies ORDER BY key")
        )
        assert [tuple(r) for r in stored] == [
            ("a", 2, "old", '{"n":1}', 7),
            ("b", 40, "new", '{"n":[2,null],"name":"Hải Phòng"}', 7),
            ("c", 5, "old", '{"n":1}', 7),
            ("d", 1, "old", '{"n":1}', 0),
        ]
        assert await _seen_elsewhere(sessions, "tallies") == ["e"]

    # Alone, one row: the same, and a rollback takes it back.
    async with sessions() as session:
        await session.begin()
        row = await session.get_one(Tally, "a")
        row.data = None
        with sent_statements(session) as statements:
            await write_queued(session, at_commit=True)
        assert [s.count("UPDATE tallies") for s in statements] == [1]
        assert await session.scalar(text("SELECT data::text FROM tallies WHERE key = 'a'")) == (
            "null"
        )
        await session.rollback()
    async with sessions() as session:
        assert (await session.get_one(Tally, "a")).data == {"n": 1}

    # The same columns changed, in rows loaded in another order or split otherwise between
    # the rows: the same statement text, not one per set of columns a row changed.
    texts = []
    for order, split in (("ab", True), ("ba", True), ("ab", False)):
        async with sessions() as session:
            await session.begin()
            loaded = {key: await session.get_one(Tally, key) for key in order}
            loaded["a"].count += 1
            loaded["b" if split else "a"].note = order
            loaded["b"].count += 2
            with sent_statements(session) as statements:
                await write_queued(session, at_commit=True)
                await session.commit()
            texts.extend(statements)
    assert len(texts) == 3
    assert texts[0] == texts[1] == texts[2]
    async with sessions() as session:
        stored = await session.execute(text("SELECT key, count, note FROM tallies ORDER BY key"))
        assert [tuple(r) for r in stored][:2] == [("a", 5, "ab"), ("b", 46, "ba")]


async def test_a_row_set_to_its_own_values_with_nothing_queued_sends_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A loaded row whose attributes were set to what they were is dirty to the session but
    has no change: with nothing queued either, the commit sends no statement at all."""
    await _create_tallies(sessions)
    async with sessions() as session, session.begin():
        session.add(Tally(key="same", count=1, note="kept", data={"n": 1}, revised=0))
    async with sessions() as session:
        await session.begin()
        row = await session.get_one(Tally, "same")
        row.note, row.data = "kept", {"n": 1}
        with sent_statements(session) as statements:
            await write_queued(session, at_commit=True)
            await session.commit()
        assert statements == []
    async with sessions() as session:
        stored = await session.get_one(Tally, "same")
        assert (stored.note, stored.revised) == ("kept", 0)


def test_a_model_whose_update_the_database_computes_keeps_the_unit_of_work() -> None:
    table = Table(
        "revised",
        MetaData(),
        Column("key", String, primary_key=True),
        Column("at", Integer, server_onupdate=text("1")),  # type: ignore[arg-type]
    )

    class Revised(_Base):
        __table__ = table

    with pytest.raises(TypeError, match="onupdate"):
        write_changes_at_commit(Revised)
