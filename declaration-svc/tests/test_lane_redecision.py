"""Routing re-decides a version's lane (intelligence raised it, an officer overrode it):
a higher revision replaces the lane, moves a declaration still in a lane to the new one
and is told in the timeline; anything older changes nothing. On a real PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import Role
from customs_shared.events.schemas import Lane, LaneAssigned, LaneReason
from declaration_svc.declarations import service
from declaration_svc.declarations.amendments import amend
from declaration_svc.declarations.models import Declaration, TimelineEntry
from declaration_svc.declarations.models import DeclarationStatus as S
from declaration_svc.declarations.schemas import DeclarationIn
from tests.support.factories import principal
from tests.support.postgres import MigratedSessions
from tests.support.samples import sample

pytestmark = pytest.mark.integration

Sessions = async_sessionmaker[AsyncSession]
BROKER = principal(Role.BROKER, "0312345673", "declarations:write", subject="demo-broker")
OFFICER = principal(Role.OFFICER, "customs-hq", "declarations:decide", subject="demo-officer")
ALARM = LaneReason(
    rule="radiation-alarm",
    lane=Lane.RED,
    explanation="Radiation alarm on container CSQU3054383 at VNHPH (monitor RPM-07).",
)


@pytest.fixture
async def sessions(migrated_sessions: MigratedSessions) -> Sessions:
    return await migrated_sessions("declaration_svc:migrations")


def decided(
    declaration_id: uuid.UUID,
    lane: Lane,
    revision: int,
    *,
    version: int = 1,
    reason: LaneReason | None = None,
) -> LaneAssigned:
    return LaneAssigned(
        declaration_id=declaration_id,
        version=version,
        tenant=BROKER.tenant,
        lane=lane,
        reasons=[reason or LaneReason(rule="no-risk-found", lane=lane, explanation="no risk")],
        rule_set_version=f"rs-{revision}",
        inputs={},
        revision=revision,
        decided_at=datetime.now(UTC),
    )


async def laned(sessions: Sessions, lane: Lane = Lane.GREEN) -> uuid.UUID:
    async with sessions() as session, session.begin():
        submission = await service.submit(
            session=session,
            principal=BROKER,
            body=DeclarationIn.model_validate(sample("declaration-individual")),
            idempotency_key=None,
        )
    await deliver(sessions, decided(submission.declaration_id, lane, 1))
    return submission.declaration_id


async def deliver(sessions: Sessions, *events: LaneAssigned) -> None:
    for event in events:
        async with sessions() as session, session.begin():
            await service.record_lane(session, event)


async def state(
    sessions: Sessions, declaration_id: uuid.UUID
) -> tuple[Declaration, list[TimelineEntry]]:
    async with sessions() as session:
        declaration = await session.get(Declaration, declaration_id)
        assert declaration is not None
        timeline = await session.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.declaration_id == declaration_id)
            .order_by(TimelineEntry.id)
        )
        return declaration, list(timeline)


async def officer_moves(sessions: Sessions, declaration_id: uuid.UUID, target: S) -> None:
    async with sessions() as session, session.begin():
        await service.change_status(
            session=session,
            principal=OFFICER,
            declaration_id=declaration_id,
            target=target,
            reason="officer's decision",
        )


async def test_a_raised_lane_moves_a_green_declaration_to_red(sessions: Sessions) -> None:
    declaration_id = await laned(sessions)
    await deliver(sessions, decided(declaration_id, Lane.RED, 2, reason=ALARM))

    declaration, timeline = await state(sessions, declaration_id)
    assert (declaration.status, declaration.lane, declaration.lane_revision) == (
        S.LANE_RED,
        "red",
        2,
    )
    assert [r["rule"] for r in declaration.lane_reasons] == ["radiation-alarm"]
    assert declaration.rule_set_version == "rs-2"
    last = timeline[-1]
    assert (last.event, last.from_status, last.status, last.actor) == (
        "lane_redecided",
        S.LANE_GREEN,
        S.LANE_RED,
        "routing-svc",
    )
    assert "CSQU3054383" in last.detail
    assert "was green" in last.detail


async def test_a_redelivered_or_older_revision_changes_nothing(sessions: Sessions) -> None:
    declaration_id = await laned(sessions)
    await deliver(sessions, decided(declaration_id, Lane.RED, 2, reason=ALARM))
    _, before = await state(sessions, declaration_id)
    # The same revision again, the first decision late, a lower one with another lane.
    await deliver(
        sessions,
        decided(declaration_id, Lane.RED, 2, reason=ALARM),
        decided(declaration_id, Lane.GREEN, 1),
        decided(declaration_id, Lane.YELLOW, 2),
    )
    declaration, after = await state(sessions, declaration_id)
    assert (declaration.status, declaration.lane_revision) == (S.LANE_RED, 2)
    assert len(after) == len(before)


async def test_an_override_may_lower_a_lane(sessions: Sessions) -> None:
    declaration_id = await laned(sessions, Lane.RED)
    override = LaneReason(rule="officer-override", lane=Lane.YELLOW, explanation="false alarm")
    await deliver(sessions, decided(declaration_id, Lane.YELLOW, 2, reason=override))
    await deliver(sessions, decided(declaration_id, Lane.GREEN, 3))
    declaration, timeline = await state(sessions, declaration_id)
    assert (declaration.status, declaration.lane_revision) == (S.LANE_GREEN, 3)
    assert [(e.from_status, e.status) for e in timeline if e.event == "lane_redecided"] == [
        (S.LANE_RED, S.LANE_YELLOW),
        (S.LANE_YELLOW, S.LANE_GREEN),
    ]


@pytest.mark.parametrize(
    ("lane", "steps", "kept"),
    [
        (Lane.YELLOW, [S.UNDER_INSPECTION], S.UNDER_INSPECTION),
        (Lane.GREEN, [S.HELD], S.HELD),
        (Lane.GREEN, [S.RELEASED], S.RELEASED),
    ],
    ids=["under-inspection", "held", "released"],
)
async def test_a_declaration_past_its_lane_keeps_its_status_and_the_timeline_tells(
    sessions: Sessions, lane: Lane, steps: list[S], kept: S
) -> None:
    declaration_id = await laned(sessions, lane)
    for step in steps:
        await officer_moves(sessions, declaration_id, step)
    await deliver(sessions, decided(declaration_id, Lane.RED, 2, reason=ALARM))
    declaration, timeline = await state(sessions, declaration_id)
    assert (declaration.status, declaration.lane, declaration.lane_revision) == (kept, "red", 2)
    last = timeline[-1]
    assert (last.event, last.from_status, last.status) == ("lane_redecided", kept, kept)
    assert "radiation" in last.detail.lower()


async def test_a_re_decision_of_a_replaced_version_changes_nothing(sessions: Sessions) -> None:
    declaration_id = await laned(sessions)
    async with sessions() as session, session.begin():
        await amend(
            session=session,
            principal=BROKER,
            declaration_id=declaration_id,
            if_match='"v1"',
            body=DeclarationIn.model_validate(sample("declaration-individual")),
        )
    await deliver(sessions, decided(declaration_id, Lane.RED, 2, reason=ALARM))
    declaration, _ = await state(sessions, declaration_id)
    assert (declaration.version, declaration.status, declaration.lane) == (2, S.RECEIVED, None)
    # The new version's first lane may come with any revision.
    await deliver(sessions, decided(declaration_id, Lane.YELLOW, 1, version=2))
    declaration, _ = await state(sessions, declaration_id)
    assert (declaration.status, declaration.lane_revision) == (S.LANE_YELLOW, 1)
