"""The lifecycle state machine and the completed idempotency rules, on a real PostgreSQL."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import Role
from customs_shared.events import catalog
from customs_shared.events.schemas import (
    DeclarationStatusChanged,
    Lane,
    LaneAssigned,
    LaneReason,
)
from customs_shared.messaging.models import OutboxEvent
from declaration_svc.declarations import idempotency, lifecycle, service
from declaration_svc.declarations.errors import (
    IdempotencyKeyReused,
    IdempotentRequestInFlight,
    IllegalTransition,
)
from declaration_svc.declarations.models import DeclarationStatus as S
from declaration_svc.declarations.models import IdempotencyKey, TimelineEntry
from declaration_svc.declarations.schemas import DeclarationIn
from tests.support.factories import principal
from tests.support.samples import sample

pytestmark = pytest.mark.integration

BROKER = principal(Role.BROKER, "0312345673", "declarations:write", subject="demo-broker")
OFFICER = principal(Role.OFFICER, "customs-hq", "declarations:decide", subject="demo-officer")


def body(**changes: object) -> DeclarationIn:
    return DeclarationIn.model_validate({**sample("declaration-individual"), **changes})


async def submitted(sessions: async_sessionmaker[AsyncSession]) -> uuid.UUID:
    async with sessions() as session, session.begin():
        submission = await service.submit(
            session=session, principal=BROKER, body=body(), idempotency_key=None
        )
    return submission.declaration_id


async def lane(sessions: async_sessionmaker[AsyncSession], declaration_id: uuid.UUID) -> None:
    async with sessions() as session, session.begin():
        await service.record_lane(
            session,
            LaneAssigned(
                declaration_id=declaration_id,
                tenant=BROKER.tenant,
                lane=Lane.YELLOW,
                reasons=[LaneReason(rule="high-value", lane=Lane.YELLOW, explanation="big")],
                rule_set_version="test",
                inputs={},
                decided_at=datetime.now(UTC),
            ),
        )


async def decide(
    sessions: async_sessionmaker[AsyncSession], declaration_id: uuid.UUID, target: S, why: str
) -> None:
    async with sessions() as session, session.begin():
        await service.change_status(
            session=session,
            principal=OFFICER,
            declaration_id=declaration_id,
            target=target,
            reason=why,
        )


@pytest.mark.parametrize(
    ("current", "target", "ok"),
    [
        (S.RECEIVED, S.SCREENING, True),
        (S.SCREENING, S.LANE_RED, True),
        (S.LANE_YELLOW, S.RELEASED, True),
        (S.LANE_RED, S.UNDER_INSPECTION, True),
        (S.UNDER_INSPECTION, S.RELEASED, True),
        (S.RECEIVED, S.RELEASED, False),
        (S.LANE_RED, S.RELEASED, False),  # red needs an inspection first
        (S.UNDER_INSPECTION, S.CANCELLED, False),
        (S.RELEASED, S.CANCELLED, False),
        (S.CANCELLED, S.RECEIVED, False),
        (S.REJECTED, S.RELEASED, False),
    ],
)
def test_the_transition_table(current: S, target: S, ok: bool) -> None:
    assert lifecycle.allowed(current, target) is ok


async def test_every_change_is_in_the_timeline_with_who_from_to_and_why(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    declaration_id = await submitted(sessions)
    await lane(sessions, declaration_id)
    await decide(sessions, declaration_id, S.RELEASED, "Documents checked, all in order.")
    async with sessions() as session:
        entries = (
            await session.scalars(
                select(TimelineEntry)
                .where(TimelineEntry.declaration_id == declaration_id)
                .order_by(TimelineEntry.id)
            )
        ).all()
    steps = [(e.actor, e.from_status, e.to_status, e.event) for e in entries]
    assert steps == [
        ("demo-broker", None, "RECEIVED", "submitted"),
        ("routing-svc", "RECEIVED", "LANE_YELLOW", "lane_assigned"),
        ("demo-officer", "LANE_YELLOW", "RELEASED", "status_released"),
    ]
    assert entries[-1].detail == "Documents checked, all in order."
    assert all(e.at is not None for e in entries)


async def test_an_officers_decision_is_published_for_routing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    declaration_id = await submitted(sessions)
    await lane(sessions, declaration_id)
    await decide(sessions, declaration_id, S.RELEASED, "Documents checked, all in order.")
    async with sessions() as session:
        rows = (
            await session.scalars(select(OutboxEvent).where(OutboxEvent.key == str(declaration_id)))
        ).all()
    envelopes = [json.loads(row.payload) for row in rows]
    [decided] = [e for e in envelopes if e["type"] == catalog.DECLARATION_STATUS_CHANGED.name]
    data = DeclarationStatusChanged.model_validate(decided["data"])
    assert (data.status, data.previous_status) == ("RELEASED", "LANE_YELLOW")
    assert (data.actor, data.reason) == ("demo-officer", "Documents checked, all in order.")
    assert data.version == 1


async def test_an_illegal_move_is_a_409_with_the_reason_and_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    declaration_id = await submitted(sessions)
    with pytest.raises(IllegalTransition) as early:
        await decide(sessions, declaration_id, S.RELEASED, "too early")
    await lane(sessions, declaration_id)
    await decide(sessions, declaration_id, S.REJECTED, "Invoice forged.")
    with pytest.raises(IllegalTransition) as closed:
        await decide(sessions, declaration_id, S.RELEASED, "changed my mind")
    assert early.value.status == 409
    assert "RECEIVED declaration cannot become RELEASED" in str(early.value.detail)
    assert "closed" in str(closed.value.detail)
    assert closed.value.extensions == {
        "current_status": "REJECTED",
        "requested_status": "RELEASED",
    }
    async with sessions() as session:
        count = len(
            (
                await session.scalars(
                    select(TimelineEntry).where(TimelineEntry.declaration_id == declaration_id)
                )
            ).all()
        )
    assert count == 3  # submitted, lane, rejected


async def test_same_key_while_the_first_request_is_in_flight_is_409(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    key = f"k-{uuid.uuid4()}"
    async with sessions() as first, first.begin():
        original = await service.submit(
            session=first, principal=BROKER, body=body(), idempotency_key=key
        )
        async with sessions() as second, second.begin():
            with pytest.raises(IdempotentRequestInFlight) as raised:
                await service.submit(
                    session=second, principal=BROKER, body=body(), idempotency_key=key
                )
    assert raised.value.status == 409
    async with sessions() as session, session.begin():
        replay = await service.submit(
            session=session, principal=BROKER, body=body(), idempotency_key=key
        )
    assert replay.replayed
    assert replay.declaration_id == original.declaration_id


async def test_a_key_whose_request_rolled_back_is_free_again(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    key = f"k-{uuid.uuid4()}"
    async with sessions() as first:
        await first.begin()
        await service.submit(session=first, principal=BROKER, body=body(), idempotency_key=key)
        await first.rollback()
    async with sessions() as session, session.begin():
        retried = await service.submit(
            session=session, principal=BROKER, body=body(), idempotency_key=key
        )
    assert not retried.replayed


async def test_keys_are_kept_24_hours_then_purged(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    old_key, new_key = f"old-{uuid.uuid4()}", f"new-{uuid.uuid4()}"
    async with sessions() as session, session.begin():
        for key in (old_key, new_key):
            await service.submit(
                session=session, principal=BROKER, body=body(), idempotency_key=key
            )
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.key == old_key)
            .values(created_at=datetime.now(UTC) - timedelta(hours=24, minutes=1))
        )
    async with sessions() as session, session.begin():
        purged = await idempotency.purge(session, older_than=timedelta(hours=24))
    assert purged == 1
    other = body(items=[{**sample("declaration-individual")["items"][0], "quantity": "2"}])
    async with sessions() as session, session.begin():
        # The purged key is a new request now, whatever its body ...
        fresh = await service.submit(
            session=session, principal=BROKER, body=other, idempotency_key=old_key
        )
    assert not fresh.replayed
    async with sessions() as session, session.begin():
        # ... while the kept one still refuses another body.
        with pytest.raises(IdempotencyKeyReused):
            await service.submit(
                session=session, principal=BROKER, body=other, idempotency_key=new_key
            )
