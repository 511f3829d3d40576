"""An IPR suspension holds the declaration and every step shows in its timeline, on a real
PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import Role
from customs_shared.events.schemas import IprSuspensionChanged, Lane, LaneAssigned, LaneReason
from declaration_svc.declarations import service
from declaration_svc.declarations.errors import IprSuspended
from declaration_svc.declarations.models import Declaration, DeclarationStatus, TimelineEntry
from declaration_svc.declarations.schemas import DeclarationIn
from tests.support.factories import principal
from tests.support.postgres import MigratedSessions
from tests.support.samples import sample

pytestmark = pytest.mark.integration

Sessions = async_sessionmaker[AsyncSession]
OFFICER = principal(Role.OFFICER, "customs-hq", "declarations:decide", subject="demo-officer")
BROKER = principal(Role.BROKER, "0312345673", "declarations:write", subject="demo-broker")


@pytest.fixture
async def sessions(migrated_sessions: MigratedSessions) -> Sessions:
    return await migrated_sessions("declaration_svc:migrations")


def step(declaration_id: uuid.UUID, suspension_id: uuid.UUID, status: str) -> IprSuspensionChanged:
    return IprSuspensionChanged(
        suspension_id=suspension_id,
        declaration_id=declaration_id,
        item_line=1,
        record_id="r1",
        status=status,
        deadline=date(2026, 9, 16),
        extended=False,
        reason="counterfeit phones",
    )


async def submitted(sessions: Sessions) -> uuid.UUID:
    """A submitted declaration, not yet laned."""
    async with sessions() as session, session.begin():
        submission = await service.submit(
            session=session,
            principal=BROKER,
            body=DeclarationIn.model_validate(sample("declaration-individual")),
            idempotency_key=None,
        )
    return submission.declaration_id


async def laned(sessions: Sessions) -> uuid.UUID:
    """A submitted declaration on the green lane."""
    return await green(sessions, await submitted(sessions))


async def green(sessions: Sessions, declaration_id: uuid.UUID) -> uuid.UUID:
    async with sessions() as session, session.begin():
        await service.record_lane(
            session,
            LaneAssigned(
                declaration_id=declaration_id,
                tenant=BROKER.tenant,
                lane=Lane.GREEN,
                reasons=[LaneReason(rule="default", lane=Lane.GREEN, explanation="no risk")],
                rule_set_version="test",
                inputs={},
                decided_at=datetime.now(UTC),
            ),
        )
    return declaration_id


async def apply(
    sessions: Sessions, declaration_id: uuid.UUID, suspension: uuid.UUID, status: str
) -> None:
    async with sessions() as session, session.begin():
        await service.record_ipr_suspension(session, step(declaration_id, suspension, status))


async def release(sessions: Sessions, declaration_id: uuid.UUID) -> str:
    async with sessions() as session, session.begin():
        declaration = await service.change_status(
            session=session,
            principal=OFFICER,
            declaration_id=declaration_id,
            target=DeclarationStatus.RELEASED,
            reason="cleared",
        )
        return declaration.status


async def test_a_suspension_holds_the_declaration_and_each_step_is_in_its_timeline(
    sessions: Sessions,
) -> None:
    declaration_id = await laned(sessions)
    suspension_id = uuid.uuid4()
    for status in ("suspended", "confirmed"):
        await apply(sessions, declaration_id, suspension_id, status)
    async with sessions() as session:
        declaration = await session.get(Declaration, declaration_id)
        entries = (
            await session.scalars(
                select(TimelineEntry)
                .where(TimelineEntry.declaration_id == declaration_id)
                .order_by(TimelineEntry.id)
            )
        ).all()
    assert declaration is not None
    assert declaration.status == "HELD"
    events = [e.event for e in entries]
    assert events[-2:] == ["ipr_suspension_suspended", "ipr_suspension_confirmed"]


async def test_no_release_while_a_suspension_is_open(sessions: Sessions) -> None:
    declaration_id = await laned(sessions)
    first, second = uuid.uuid4(), uuid.uuid4()
    await apply(sessions, declaration_id, first, "suspended")
    await apply(sessions, declaration_id, first, "confirmed")  # goods held: still no release
    with pytest.raises(IprSuspended):
        await release(sessions, declaration_id)
    await apply(sessions, declaration_id, second, "suspended")
    await apply(sessions, declaration_id, first, "released")
    with pytest.raises(IprSuspended):  # the second one is still open
        await release(sessions, declaration_id)
    await apply(sessions, declaration_id, second, "withdrawn")
    assert await release(sessions, declaration_id) == "RELEASED"


async def status_and_events(sessions: Sessions, declaration_id: uuid.UUID) -> tuple[str, list[str]]:
    async with sessions() as session:
        declaration = await session.get(Declaration, declaration_id)
        events = (
            await session.scalars(
                select(TimelineEntry.event)
                .where(TimelineEntry.declaration_id == declaration_id)
                .order_by(TimelineEntry.id)
            )
        ).all()
    assert declaration is not None
    return declaration.status, list(events)


async def test_a_suspension_during_screening_holds_the_declaration_once_laned(
    sessions: Sessions,
) -> None:
    declaration_id = await submitted(sessions)
    suspension_id = uuid.uuid4()
    await apply(sessions, declaration_id, suspension_id, "suspended")
    assert (await status_and_events(sessions, declaration_id))[0] == "RECEIVED"
    await green(sessions, declaration_id)
    status, events = await status_and_events(sessions, declaration_id)
    assert status == "HELD"
    assert events[-2:] == ["lane_assigned", "ipr_suspension_held"]
    with pytest.raises(IprSuspended):
        await release(sessions, declaration_id)
    await apply(sessions, declaration_id, suspension_id, "withdrawn")
    assert await release(sessions, declaration_id) == "RELEASED"


async def test_a_suspension_lifted_before_the_lane_holds_nothing(sessions: Sessions) -> None:
    declaration_id = await submitted(sessions)
    suspension_id = uuid.uuid4()
    await apply(sessions, declaration_id, suspension_id, "suspended")
    await apply(sessions, declaration_id, suspension_id, "withdrawn")
    await green(sessions, declaration_id)
    status, events = await status_and_events(sessions, declaration_id)
    assert status == "LANE_GREEN"
    assert "ipr_suspension_held" not in events


async def test_the_migration_counts_the_open_suspensions_from_the_timeline(
    sessions: Sessions,
) -> None:
    """Declarations suspended before the count was kept get it from their timeline."""
    declaration_id = await laned(sessions)
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for suspension, status in (
        (first, "suspended"),
        (second, "suspended"),
        (third, "suspended"),
        (first, "withdrawn"),
        (second, "confirmed"),
        (third, "released"),
    ):
        await apply(sessions, declaration_id, suspension, status)
    untouched = await laned(sessions)
    async with sessions() as session:
        connection = await session.connection()
        await connection.run_sync(lambda sync: _migrate(sync, downgrade_to="0012"))
        await connection.run_sync(lambda sync: _migrate(sync, downgrade_to=None))
        await session.commit()
    async with sessions() as session:
        rows = await session.execute(
            select(Declaration.id, Declaration.ipr_suspensions_open).where(
                Declaration.id.in_([declaration_id, untouched])
            )
        )
        counts = {row.id: row.ipr_suspensions_open for row in rows}
    assert counts == {declaration_id: 1, untouched: 0}
    with pytest.raises(IprSuspended):
        await release(sessions, declaration_id)


def _migrate(connection: Connection, *, downgrade_to: str | None) -> None:
    config = Config()
    config.set_main_option("script_location", "declaration_svc:migrations")
    config.attributes["connection"] = connection
    if downgrade_to is None:
        command.upgrade(config, "head")
    else:
        command.downgrade(config, downgrade_to)
