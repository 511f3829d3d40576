"""Routing's case handling on a real PostgreSQL: events in any order, at most one
decision per declaration, and the deadline path when a screening never comes."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.events import catalog
from customs_shared.events.schemas import (
    DeclarantKind,
    DeclarationCancelled,
    DeclarationStatusChanged,
    DeclarationSubmitted,
    IprScreened,
    IprSuspensionChanged,
    SignatureChecked,
)
from customs_shared.messaging.models import OutboxEvent
from routing_svc.lanes import service
from routing_svc.lanes.consumer import subscriptions
from routing_svc.lanes.models import LaneDecision, RoutingCase
from routing_svc.lanes.service import LanePolicy
from routing_svc.rules.active import ActiveRuleSet
from tests.support.factories import declaration_submitted, ipr_screened, signature_checked
from tests.support.postgres import MigratedSessions

pytestmark = pytest.mark.integration

TENANT = "0312345673"


def submitted(declaration_id: uuid.UUID) -> DeclarationSubmitted:
    return declaration_submitted(
        declaration_id=declaration_id, tenant=TENANT, declarant_kind=DeclarantKind.INDIVIDUAL
    )


def high_value_amendment(declaration_id: uuid.UUID) -> DeclarationSubmitted:
    """Version 2, its value raised past the high-value threshold (so it goes yellow)."""
    return declaration_submitted(
        declaration_id=declaration_id,
        tenant=TENANT,
        declarant_kind=DeclarantKind.INDIVIDUAL,
        version=2,
        total="5000000000",
    )


def signature(declaration_id: uuid.UUID) -> SignatureChecked:
    return signature_checked(declaration_id, TENANT)


def ipr(declaration_id: uuid.UUID) -> IprScreened:
    return ipr_screened(declaration_id, TENANT, records_checked=3)


@pytest.fixture
async def scratch_sessions(migrated_sessions: MigratedSessions) -> async_sessionmaker[AsyncSession]:
    return await migrated_sessions("routing_svc:migrations")


RULE_SETS = ActiveRuleSet()


def policy(*, seconds: float) -> LanePolicy:
    return LanePolicy(RULE_SETS, timedelta(seconds=seconds), False, b"s" * 32)


async def decisions(scratch_sessions: async_sessionmaker[AsyncSession]) -> list[LaneDecision]:
    async with scratch_sessions() as session:
        return list((await session.scalars(select(LaneDecision))).all())


async def queued(
    scratch_sessions: async_sessionmaker[AsyncSession], event_type: str
) -> list[dict[str, Any]]:
    """The ``data`` of the queued events of ``event_type``, in order."""
    async with scratch_sessions() as session:
        payloads = await session.scalars(select(OutboxEvent.payload).order_by(OutboxEvent.seq))
        envelopes = [json.loads(p) for p in payloads]
    return [e["data"] for e in envelopes if e["type"] == event_type]


async def lane_events(scratch_sessions: async_sessionmaker[AsyncSession]) -> int:
    return len(await queued(scratch_sessions, catalog.LANE_ASSIGNED.name))


async def forwarded(scratch_sessions: async_sessionmaker[AsyncSession]) -> list[dict[str, Any]]:
    return await queued(scratch_sessions, catalog.SCREENING_FORWARDED.name)


async def test_results_before_the_declaration_still_decide_once(
    scratch_sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Through the same bindings the consumer uses.
    handlers = {s.event_type.data: s.handler for s in subscriptions(policy(seconds=30))}
    declaration_id = uuid.uuid4()
    for data in (
        ipr(declaration_id),
        signature(declaration_id),
        submitted(declaration_id),
        submitted(declaration_id),  # redelivered under a new event id
        signature(declaration_id),
    ):
        async with scratch_sessions() as session, session.begin():
            await handlers[type(data)](session, data)
    [decision] = await decisions(scratch_sessions)
    assert decision.lane == "green"
    assert decision.inputs["ipr"] == "clear"
    # The lane carries the results it was decided on: declaration-svc reads them there.
    [lane] = await queued(scratch_sessions, catalog.LANE_ASSIGNED.name)
    assert lane["signature"] == signature(declaration_id).model_dump(mode="json")
    assert lane["ipr"] == ipr(declaration_id).model_dump(mode="json")
    assert await forwarded(scratch_sessions) == []


async def test_a_case_keeps_the_facts_without_the_cms_signature(
    scratch_sessions: async_sessionmaker[AsyncSession],
) -> None:
    declaration_id = uuid.uuid4()
    signed = declaration_submitted(
        declaration_id=declaration_id,
        tenant=TENANT,
        signature_cms="MIAGCSqGSIb3DQEHAqCAMIACAQEx",
        signed_sha256="ab" * 32,
    )
    async with scratch_sessions() as session, session.begin():
        await service.on_submitted(session, signed, policy=policy(seconds=30))
    async with scratch_sessions() as session:
        case = await session.get(RoutingCase, declaration_id)
    assert case is not None
    assert case.facts is not None
    assert "signature_cms" not in case.facts
    assert (case.facts["signature_present"], case.facts["signed_sha256"]) == (True, "ab" * 32)


async def test_missing_screening_is_decided_at_the_deadline_and_not_before(
    scratch_sessions: async_sessionmaker[AsyncSession],
) -> None:
    now, later = policy(seconds=0), policy(seconds=3600)
    overdue_id, fresh_id = uuid.uuid4(), uuid.uuid4()
    async with scratch_sessions() as session, session.begin():
        await service.on_submitted(session, submitted(overdue_id), policy=now)
        await service.on_signature(session, signature(overdue_id), policy=now)
        await service.on_submitted(session, submitted(fresh_id), policy=later)
    async with scratch_sessions() as session, session.begin():
        assert await service.decide_overdue(session, policy=now) == 1
    async with scratch_sessions() as session, session.begin():
        # Decided cases are not swept again.
        assert await service.decide_overdue(session, policy=now) == 0
        await service.on_ipr(session, ipr(overdue_id), policy=now)  # late: changes nothing

    [decision] = await decisions(scratch_sessions)
    assert decision.declaration_id == overdue_id
    assert decision.lane == "yellow"
    assert [r["rule"] for r in decision.reasons] == ["screening-incomplete"]
    assert decision.inputs["ipr"] == "no_result"
    assert decision.screening_complete is False
    [lane] = await queued(scratch_sessions, catalog.LANE_ASSIGNED.name)
    assert (lane["signature"]["status"], lane["ipr"]) == ("not_required", None)
    # The late result is passed on by itself; no lane event will carry it.
    [late] = await forwarded(scratch_sessions)
    assert (late["declaration_id"], late["version"]) == (str(overdue_id), 1)
    assert (late["signature"], late["ipr"]["records_checked"]) == (None, 3)


async def test_an_amended_version_is_decided_again_and_replaces_the_lane(
    scratch_sessions: async_sessionmaker[AsyncSession],
) -> None:
    declaration_id = uuid.uuid4()
    rules = policy(seconds=30)
    v2 = high_value_amendment(declaration_id)
    async with scratch_sessions() as session, session.begin():
        await service.on_submitted(session, submitted(declaration_id), policy=rules)
        await service.on_signature(session, signature(declaration_id), policy=rules)
        await service.on_ipr(session, ipr(declaration_id), policy=rules)
    (first,) = await decisions(scratch_sessions)
    assert (first.version, first.lane) == (1, "green")
    async with scratch_sessions() as session, session.begin():
        # The v2 signature result overtakes the amendment itself; v1's late result is stale.
        await service.on_signature(
            session, signature(declaration_id).model_copy(update={"version": 2}), policy=rules
        )
        await service.on_submitted(session, v2, policy=rules)
        await service.on_ipr(session, ipr(declaration_id), policy=rules)
    (undecided,) = await decisions(scratch_sessions)
    assert undecided.version == 1
    async with scratch_sessions() as session, session.begin():
        await service.on_ipr(
            session, ipr(declaration_id).model_copy(update={"version": 2}), policy=rules
        )
    (second,) = await decisions(scratch_sessions)
    assert (second.version, second.lane) == (2, "yellow")
    assert [r["rule"] for r in second.reasons] == ["high-value"]
    async with scratch_sessions() as session:
        ids = (await session.scalars(select(OutboxEvent.event_id))).all()
    assert len(set(ids)) == 2  # one lane event per version, each with its own id


async def test_a_cancelled_declaration_gets_no_lane(
    scratch_sessions: async_sessionmaker[AsyncSession],
) -> None:
    declaration_id = uuid.uuid4()
    rules = policy(seconds=0)
    async with scratch_sessions() as session, session.begin():
        await service.on_submitted(session, submitted(declaration_id), policy=rules)
        await service.on_cancelled(
            session,
            DeclarationCancelled(
                declaration_id=declaration_id,
                version=1,
                tenant=TENANT,
                reason="withdrawn",
                cancelled_at=datetime.now(UTC),
            ),
        )
        await service.on_signature(session, signature(declaration_id), policy=rules)
        await service.on_ipr(session, ipr(declaration_id), policy=rules)
    async with scratch_sessions() as session, session.begin():
        assert await service.decide_overdue(session, policy=rules) == 0
    assert await decisions(scratch_sessions) == []
    # Results after the cancellation still reach declaration-svc's timeline.
    assert [
        (f["signature"] is None, f["ipr"] is None) for f in await forwarded(scratch_sessions)
    ] == [
        (False, True),
        (True, False),
    ]


async def test_results_held_for_a_case_cancelled_before_its_lane_are_forwarded_once(
    scratch_sessions: async_sessionmaker[AsyncSession],
) -> None:
    declaration_id = uuid.uuid4()
    rules = policy(seconds=30)
    cancelled = DeclarationCancelled(
        declaration_id=declaration_id,
        version=1,
        tenant=TENANT,
        reason="withdrawn",
        cancelled_at=datetime.now(UTC),
    )
    async with scratch_sessions() as session, session.begin():
        await service.on_submitted(session, submitted(declaration_id), policy=rules)
        await service.on_signature(session, signature(declaration_id), policy=rules)
    async with scratch_sessions() as session, session.begin():
        await service.on_cancelled(session, cancelled)
        await service.on_cancelled(session, cancelled)  # redelivered under a new id
    [held] = await forwarded(scratch_sessions)
    assert held["signature"] == signature(declaration_id).model_dump(mode="json")
    assert held["ipr"] is None
    assert await lane_events(scratch_sessions) == 0


def suspension(declaration_id: uuid.UUID, status: str) -> IprSuspensionChanged:
    return IprSuspensionChanged(
        suspension_id=uuid.uuid4(),
        declaration_id=declaration_id,
        item_line=1,
        record_id="IPR-1",
        status=status,
        deadline=date(2026, 12, 10),
        extended=False,
        reason="Right holder asked to suspend release.",
    )


def status_changed(declaration_id: uuid.UUID, status: str) -> DeclarationStatusChanged:
    return DeclarationStatusChanged(
        declaration_id=declaration_id,
        version=1,
        tenant=TENANT,
        status=status,
        previous_status="LANE_GREEN",
        actor="demo-officer",
        reason="checked",
        changed_at=datetime.now(UTC),
    )


async def green(
    scratch_sessions: async_sessionmaker[AsyncSession], declaration_id: uuid.UUID
) -> LanePolicy:
    rules = policy(seconds=30)
    async with scratch_sessions() as session, session.begin():
        await service.on_submitted(session, submitted(declaration_id), policy=rules)
        await service.on_signature(session, signature(declaration_id), policy=rules)
        await service.on_ipr(session, ipr(declaration_id), policy=rules)
    return rules


async def test_a_suspension_of_release_sends_a_laned_declaration_red_as_a_new_revision(
    scratch_sessions: async_sessionmaker[AsyncSession],
) -> None:
    declaration_id = uuid.uuid4()
    rules = await green(scratch_sessions, declaration_id)
    async with scratch_sessions() as session, session.begin():
        await service.on_ipr_suspension(
            session, suspension(declaration_id, "suspended"), policy=rules
        )
        # The same news again (a confirmation) changes nothing more.
        await service.on_ipr_suspension(
            session, suspension(declaration_id, "confirmed"), policy=rules
        )
    [decision] = await decisions(scratch_sessions)
    assert (decision.lane, decision.revision, decision.version) == ("red", 2, 1)
    assert "ipr-suspended" in [r["rule"] for r in decision.reasons]
    async with scratch_sessions() as session:
        ids = (await session.scalars(select(OutboxEvent.event_id))).all()
    assert len(set(ids)) == 2  # the green decision's event and the red revision's


async def test_a_released_declaration_is_not_decided_again(
    scratch_sessions: async_sessionmaker[AsyncSession],
) -> None:
    declaration_id = uuid.uuid4()
    rules = await green(scratch_sessions, declaration_id)
    async with scratch_sessions() as session, session.begin():
        await service.on_status_changed(session, status_changed(declaration_id, "RELEASED"))
        await service.on_ipr_suspension(
            session, suspension(declaration_id, "suspended"), policy=rules
        )
    [decision] = await decisions(scratch_sessions)
    assert (decision.lane, decision.revision) == ("green", 1)
    assert await lane_events(scratch_sessions) == 1


async def test_one_transactions_decisions_are_written_at_its_commit_and_read_back_within_it(
    scratch_sessions: async_sessionmaker[AsyncSession],
) -> None:
    """New decisions go to the database with the commit's other new rows. A batch that
    decides a declaration's first version and then its amendment stores the amendment's;
    one that decides a declaration and then re-decides it (a suspension) finds its own
    decision, and stores the new revision."""
    amended_id, held_id = uuid.uuid4(), uuid.uuid4()
    rules = policy(seconds=30)
    v2 = high_value_amendment(amended_id)
    async with scratch_sessions() as session, session.begin():
        for declaration_id in (amended_id, held_id):
            await service.on_submitted(session, submitted(declaration_id), policy=rules)
            await service.on_signature(session, signature(declaration_id), policy=rules)
            await service.on_ipr(session, ipr(declaration_id), policy=rules)
        await service.on_submitted(session, v2, policy=rules)
        await service.on_signature(
            session, signature(amended_id).model_copy(update={"version": 2}), policy=rules
        )
        await service.on_ipr(
            session, ipr(amended_id).model_copy(update={"version": 2}), policy=rules
        )
        await service.on_ipr_suspension(session, suspension(held_id, "suspended"), policy=rules)
    stored = {d.declaration_id: d for d in await decisions(scratch_sessions)}
    amended, held = stored[amended_id], stored[held_id]
    assert (amended.version, amended.revision, amended.lane) == (2, 1, "yellow")
    assert (held.version, held.revision, held.lane) == (1, 2, "red")
    assert await lane_events(scratch_sessions) == 4  # v1 and v2; green, then red
