"""declaration-svc's logic on a real PostgreSQL built by its migrations: submission
with its event in one transaction, idempotent retries, and the result handlers."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import Role
from customs_shared.db import write_queued
from customs_shared.events.schemas import (
    IprHit,
    IprOutcome,
    Lane,
    LaneAssigned,
    LaneReason,
    ScreeningForwarded,
    SignatureStatus,
)
from customs_shared.messaging.consumer import PermanentError
from customs_shared.messaging.models import OutboxEvent
from declaration_svc.declarations import service
from declaration_svc.declarations.errors import IdempotencyKeyReused
from declaration_svc.declarations.models import Declaration, TimelineEntry
from declaration_svc.declarations.schemas import DeclarationIn, DeclarationOut
from tests.support.factories import ipr_screened, principal, signature_checked
from tests.support.postgres import sent_statements
from tests.support.samples import sample

pytestmark = pytest.mark.integration

BROKER = principal(Role.BROKER, "0312345673", "declarations:write", subject="demo-broker")


def body(**changes: object) -> DeclarationIn:
    return DeclarationIn.model_validate({**sample("declaration-enterprise"), **changes})


async def outbox_types(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        payloads = await session.scalars(select(OutboxEvent.payload).order_by(OutboxEvent.seq))
        return [json.loads(p)["type"] for p in payloads]


async def submit(
    sessions: async_sessionmaker[AsyncSession], declaration: DeclarationIn, key: str | None
) -> service.Submission:
    async with sessions() as session, session.begin():
        return await service.submit(
            session=session, principal=BROKER, body=declaration, idempotency_key=key
        )


async def test_submission_stores_the_declaration_and_its_event_together(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    submission = await submit(sessions, body(), None)
    async with sessions() as session:
        stored = await session.get(Declaration, submission.declaration_id)
        assert stored is not None
        assert stored.tenant == BROKER.tenant
        assert stored.total_customs_value == 231_000_000
    assert await outbox_types(sessions) == ["customs.declaration.submitted.v1"]

    async with sessions() as session:
        transaction = await session.begin()
        await service.submit(session=session, principal=BROKER, body=body(), idempotency_key=None)
        await transaction.rollback()
    # Rolled back: neither the row nor its event.
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Declaration)) == 1
    assert len(await outbox_types(sessions)) == 1


async def test_a_retry_with_the_same_key_replays_and_another_body_is_refused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = await submit(sessions, body(), "order-1")
    again = await submit(sessions, body(), "order-1")
    assert (again.declaration_id, again.replayed) == (first.declaration_id, True)
    assert not first.replayed
    with pytest.raises(IdempotencyKeyReused):
        await submit(sessions, body(currency="USD"), "order-1")
    assert len(await outbox_types(sessions)) == 1


def lane_assigned(
    declaration_id: uuid.UUID, lane: Lane, reason: LaneReason | None = None, **changes: Any
) -> LaneAssigned:
    """Routing's first decision of version 1, with one reason."""
    return LaneAssigned(
        declaration_id=declaration_id,
        tenant=BROKER.tenant,
        lane=lane,
        reasons=[reason or LaneReason(rule="r", lane=lane, explanation="why")],
        rule_set_version="v1",
        inputs={},
        decided_at=datetime.now(UTC),
        **changes,
    )


async def test_results_move_the_status_and_write_the_timeline(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    declaration_id = (await submit(sessions, body(), None)).declaration_id
    tenant = BROKER.tenant
    lane = lane_assigned(
        declaration_id,
        Lane.YELLOW,
        signature=signature_checked(
            declaration_id, tenant, status=SignatureStatus.MISSING, detail="unsigned"
        ),
        ipr=ipr_screened(declaration_id, tenant, records_checked=0),
    )
    async with sessions() as session, session.begin():
        await service.record_lane(session, lane)
    async with sessions() as session, session.begin():
        red = lane.model_copy(update={"lane": Lane.RED})
        await service.record_lane(session, red)  # a second decision changes nothing

    async with sessions() as session:
        stored = await session.get(Declaration, declaration_id)
        events = await session.scalars(
            select(TimelineEntry.event)
            .where(TimelineEntry.declaration_id == declaration_id)
            .order_by(TimelineEntry.id)
        )
        timeline = list(events)
    assert stored is not None
    assert (stored.status, stored.lane, stored.signature_status) == (
        "LANE_YELLOW",
        "yellow",
        "missing",
    )
    assert timeline == ["submitted", "signature_checked", "ipr_screened", "lane_assigned"]


async def test_results_routing_forwards_after_the_lane_are_recorded_and_keep_the_lane(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    declaration_id = (await submit(sessions, body(), None)).declaration_id
    tenant = BROKER.tenant
    # Decided at the deadline with the signature only; IPR screening comes afterwards.
    lane = lane_assigned(
        declaration_id,
        Lane.YELLOW,
        LaneReason(rule="screening-incomplete", lane=Lane.YELLOW, explanation="late"),
        screening_complete=False,
        signature=signature_checked(declaration_id, tenant),
    )
    hit = ipr_screened(
        declaration_id,
        tenant,
        outcome=IprOutcome.HIT,
        records_checked=4,
        hits=[IprHit(item_line=1, record_id="R-1", matched="ACME")],
    )
    stale = ScreeningForwarded(
        declaration_id=declaration_id,
        version=0,
        tenant=tenant,
        ipr=ipr_screened(declaration_id, tenant, records_checked=9),
    )
    async with sessions() as session, session.begin():
        await service.record_lane(session, lane)
    async with sessions() as session, session.begin():
        await service.record_forwarded_screening(session, stale)
        await service.record_forwarded_screening(
            session, ScreeningForwarded(declaration_id=declaration_id, tenant=tenant, ipr=hit)
        )

    async with sessions() as session:
        stored = await session.get(Declaration, declaration_id)
        entries = list(
            await session.execute(
                select(TimelineEntry.event, TimelineEntry.detail)
                .where(TimelineEntry.declaration_id == declaration_id)
                .order_by(TimelineEntry.id)
            )
        )
    assert stored is not None
    assert (stored.status, stored.lane, stored.ipr_outcome) == ("LANE_YELLOW", "yellow", "hit")
    assert [event for event, _ in entries] == [
        "submitted",
        "signature_checked",
        "lane_assigned",
        "ipr_screened",
    ]
    assert entries[-1][1] == "hit (4 records checked): line 1: ACME"


async def test_a_rejecting_decision_closes_the_declaration_with_its_lane_on_record(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    declaration_id = (await submit(sessions, body(), None)).declaration_id
    reason = LaneReason(
        rule="enterprise-signature-invalid", lane=Lane.RED, explanation="signature failed"
    )
    async with sessions() as session, session.begin():
        await service.record_lane(
            session,
            lane_assigned(declaration_id, Lane.RED, reason, rejected=True),
        )
    async with sessions() as session:
        stored = await session.get(Declaration, declaration_id)
        events = list(
            await session.scalars(
                select(TimelineEntry.event)
                .where(TimelineEntry.declaration_id == declaration_id)
                .order_by(TimelineEntry.id)
            )
        )
    assert stored is not None
    assert (stored.status, stored.lane) == ("REJECTED", "red")
    assert events[-2:] == ["lane_assigned", "rejected"]


async def test_a_result_for_an_unknown_declaration_is_permanent(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    unknown = uuid.uuid4()
    results = ScreeningForwarded(
        declaration_id=unknown,
        tenant=BROKER.tenant,
        signature=signature_checked(unknown, BROKER.tenant),
    )
    with pytest.raises(PermanentError):
        async with sessions() as session, session.begin():
            await service.record_forwarded_screening(session, results)


async def test_the_richer_model_is_stored_and_shown_as_declared(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    submission = await submit(sessions, body(), None)
    async with sessions() as session:
        shown = DeclarationOut.model_validate(
            await service.get(
                session=session, principal=BROKER, declaration_id=submission.declaration_id
            )
        )
    assert shown.incoterm == "CIF"
    assert shown.invoice is not None
    assert shown.invoice.total == 231_000_000
    assert shown.transport is not None
    assert shown.transport.transport_document == "COSU6312345670"
    assert shown.countries is not None
    assert shown.countries.origin == "CN"
    assert shown.broker is not None
    assert shown.broker.tax_code == "0312345673"
    assert shown.items[0].unit_price == 80_000
    assert shown.items[0].preferential_origin is not None
    assert shown.items[0].preferential_origin.form == "E"
    assert shown.items[1].preferential_origin is None


async def test_a_batch_of_lanes_writes_its_declarations_in_the_commits_one_statement(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """As the consumer handles a fetch of lanes: the declarations locked in one statement,
    and their changes written in one more, with their timeline entries, not an
    ``UPDATE`` per declaration after it."""
    ids = [(await submit(sessions, body(), None)).declaration_id for _ in range(3)]
    lanes = [lane_assigned(ids[0], Lane.GREEN), *(lane_assigned(i, Lane.YELLOW) for i in ids[1:])]
    async with sessions() as session:
        submitted_at = {d.id: d.updated_at for d in await session.scalars(select(Declaration))}
    async with sessions() as session:
        with sent_statements(session) as statements:
            async with session.begin():
                await service.lock_declarations(session, lanes)
                for lane in lanes:
                    await service.record_lane(session, lane)
                await write_queued(session, at_commit=True)
    writes = [s for s in statements if "UPDATE declarations" in s]
    assert len(writes) == 1
    assert "INSERT INTO declaration_timeline" in writes[0]
    assert len(statements) == 2  # the lock, then the writes

    async with sessions() as session:
        stored = {
            d.id: d
            for d in await session.scalars(select(Declaration).where(Declaration.id.in_(ids)))
        }
        entries = await session.scalars(
            select(TimelineEntry.declaration_id).where(TimelineEntry.event == "lane_assigned")
        )
        laned = set(entries)
    assert [(stored[i].lane, stored[i].status) for i in ids] == [
        ("green", "LANE_GREEN"),
        ("yellow", "LANE_YELLOW"),
        ("yellow", "LANE_YELLOW"),
    ]
    assert all(stored[i].updated_at > submitted_at[i] for i in ids)
    assert set(ids) <= laned


async def test_timeline_entries_are_written_with_one_statement_text_whatever_their_number(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = (await submit(sessions, body(), None)).declaration_id
    second = (await submit(sessions, body(), None)).declaration_id
    tenant = BROKER.tenant

    def signature(declaration_id: uuid.UUID) -> ScreeningForwarded:
        checked = signature_checked(
            declaration_id, tenant, status=SignatureStatus.MISSING, detail="unsigned"
        )
        return ScreeningForwarded(declaration_id=declaration_id, tenant=tenant, signature=checked)

    def ipr(declaration_id: uuid.UUID) -> ScreeningForwarded:
        screened = ipr_screened(declaration_id, tenant, records_checked=0)
        return ScreeningForwarded(declaration_id=declaration_id, tenant=tenant, ipr=screened)

    inserts: list[str] = []
    async with sessions() as session:
        # One entry in a transaction, then three: a batch of any size, one prepared plan.
        with sent_statements(session) as statements:
            async with session.begin():
                await service.record_forwarded_screening(session, signature(first))
            async with session.begin():
                await service.record_forwarded_screening(session, ipr(first))
                await service.record_forwarded_screening(session, signature(second))
                await service.record_forwarded_screening(session, ipr(second))
        inserts = [s for s in statements if "INSERT INTO declaration_timeline" in s]
    assert len(inserts) == 2
    assert len(set(inserts)) == 1, inserts

    async with sessions() as session:
        events = await session.execute(
            select(TimelineEntry.declaration_id, TimelineEntry.event).order_by(TimelineEntry.id)
        )
        written = [(row.declaration_id, row.event) for row in events]
    assert written[-4:] == [
        (first, "signature_checked"),
        (first, "ipr_screened"),
        (second, "signature_checked"),
        (second, "ipr_screened"),
    ]
