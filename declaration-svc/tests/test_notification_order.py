"""Notifications are handed out only once no transaction can still commit one before them:
one whose transaction commits after a later one was already pulled or pushed is still
pulled and pushed, each exactly once. Two sessions on a real PostgreSQL hold the
transactions open in the order that used to lose a notification."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from customs_shared.auth import Principal, Role
from customs_shared.db import create_engine
from customs_shared.messaging.outbox import OutboxSignal, session_factory
from customs_shared.notifications import service
from customs_shared.notifications.models import Notification
from customs_shared.notifications.repository import Position
from customs_shared.notifications.schemas import SubscriptionIn
from customs_shared.notifications.visibility import transaction_id
from customs_shared.problems import BadRequest
from tests.support.factories import principal
from tests.support.postgres import PostgresServer
from tests.support.webhooks import Receiver, delivery_policy

pytestmark = pytest.mark.integration

Sessions = async_sessionmaker[AsyncSession]
TENANT = "0312345673"
BROKER = principal(Role.BROKER, TENANT, "declarations:write", "declarations:read")
POLICY = delivery_policy()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.close()


async def written(session: AsyncSession, label: str) -> Notification:
    """A notification for TENANT written (seq taken) in ``session``'s open transaction."""
    row = Notification(
        id=uuid.uuid4(), tenant=TENANT, type="declaration.submitted", data={"label": label}
    )
    session.add(row)
    await session.flush()
    return row


@asynccontextmanager
async def overtaken(sessions: Sessions) -> AsyncIterator[tuple[AsyncSession, Notification]]:
    """Leaves, inside the block, a committed notification ``early`` that has a higher seq
    than ``late``, whose transaction is still open (the yielded session; it commits at the
    end of the block). ``early``'s transaction took its id first, so ``early`` is final
    while ``late`` runs: it is handed out before ``late`` commits."""
    async with sessions() as early, sessions() as late:
        early_xid = await early.scalar(select(transaction_id()))
        late_row = await written(late, "late")
        early_row = await written(early, "early")
        await early.commit()
        assert early_row.seq > late_row.seq  # the seq order is not the commit order
        assert early_xid is not None
        assert early_row.xid == early_xid < late_row.xid
        yield late, late_row
        await late.commit()


async def pull(
    sessions: Sessions, after: str | None, who: Principal = BROKER
) -> tuple[list[str], str | None]:
    async with sessions() as session:
        rows, cursor = await service.pull(session=session, principal=who, after=after, limit=50)
    return [row.data["label"] for row in rows], cursor


async def test_a_notification_committed_after_a_later_one_was_pulled_is_pulled_next(
    sessions: Sessions,
) -> None:
    async with overtaken(sessions):
        before, cursor = await pull(sessions, None)
        assert before == ["early"]
    after, last = await pull(sessions, cursor)
    again, same = await pull(sessions, last)
    everything, _ = await pull(sessions, None)

    assert after == ["late"]
    assert (again, same) == ([], last)
    assert sorted(everything) == ["early", "late"]  # each once, whatever the position


async def test_a_notification_after_a_running_transaction_waits_for_it(
    sessions: Sessions,
) -> None:
    async with sessions() as first:
        await written(first, "first")
        async with sessions() as second, second.begin():
            await written(second, "second")
        # "second" is committed, but "first" might still commit before it: held back.
        held, cursor = await pull(sessions, None)
        assert held == []
        await first.commit()
    released, _ = await pull(sessions, cursor)
    assert released == ["first", "second"]


async def test_a_notification_committed_after_a_later_one_was_pushed_is_pushed_next(
    sessions: Sessions, receiver: Receiver
) -> None:
    async with sessions() as session, session.begin():
        await service.subscribe(
            session=session,
            principal=BROKER,
            body=SubscriptionIn.model_validate({"url": receiver.url}),
            policy=POLICY,
            area="declaration",
        )
    async with httpx.AsyncClient() as http:
        async with overtaken(sessions) as (_, late):
            assert await service.deliver_due(sessions, http=http, policy=POLICY) == 1
            assert await service.deliver_due(sessions, http=http, policy=POLICY) == 0
        assert await service.deliver_due(sessions, http=http, policy=POLICY) == 1
        assert await service.deliver_due(sessions, http=http, policy=POLICY) == 0

    labels = [body for _, body in receiver.received]
    assert [b'"early"' in body for body in labels] == [True, False]
    assert receiver.ids()[1] == str(late.id)
    assert len(set(receiver.ids())) == 2


def test_cursors_are_positions_and_bare_seqs_of_older_cursors_still_read() -> None:
    assert service.parse_cursor(None) == Position(0, 0)
    assert service.parse_cursor("17") == Position(0, 17)  # handed out before xids were kept
    assert service.parse_cursor(service.format_cursor(Position(812, 40))) == Position(812, 40)
    for bad in ("", "-3", "1-", "a-1", "1-2-3", "9" * 20, str(2**63), "\uff11\uff12"):
        with pytest.raises(BadRequest):
            service.parse_cursor(bad)


async def migrate(engine: AsyncEngine, revision: str, *, down: bool = False) -> None:
    def run(connection: Connection) -> None:
        config = Config()
        config.set_main_option("script_location", "declaration_svc:migrations")
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def test_rows_and_cursors_from_before_the_migration_keep_their_place(
    postgres: PostgresServer,
) -> None:
    engine = create_engine(postgres.url("scratch"))
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            await connection.exec_driver_sql("CREATE SCHEMA public")
        await migrate(engine, "0011")
        insert = text(
            "INSERT INTO notifications (id, tenant, type, data, created_at) "
            "VALUES (:id, :tenant, 'declaration.submitted', :data, now())"
        )
        async with engine.begin() as connection:
            for label in ("old 1", "old 2"):
                await connection.execute(
                    insert,
                    {"id": uuid.uuid4(), "tenant": TENANT, "data": f'{{"label": "{label}"}}'},
                )
        await migrate(engine, "head")
        # A writer that leaves the column out (the previous release, mid-rollout).
        async with engine.begin() as connection:
            await connection.execute(
                insert, {"id": uuid.uuid4(), "tenant": TENANT, "data": '{"label": "unnamed"}'}
            )
        sessions = session_factory(engine, OutboxSignal())
        async with sessions() as session, session.begin():
            service.notify(
                session, tenant=TENANT, type="declaration.submitted", data={"label": "new"}
            )
        after_first, _ = await pull(sessions, "1")  # a cursor handed out before: a bare seq
        async with sessions() as session:
            xids = (
                await session.scalars(select(Notification.xid).order_by(Notification.seq))
            ).all()
        await migrate(engine, "0011", down=True)
        await migrate(engine, "head")
    finally:
        await engine.dispose()

    assert after_first == ["old 2", "unnamed", "new"]
    assert xids[:2] == [0, 0]
    assert 0 < xids[2] < xids[3]
