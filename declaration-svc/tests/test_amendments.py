"""Amendments (new versions, If-Match) and cancellation, on a real PostgreSQL."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import Principal, Role
from customs_shared.events.schemas import (
    Lane,
    LaneAssigned,
    LaneReason,
    ScreeningForwarded,
    SignatureChecked,
    SignatureStatus,
)
from customs_shared.messaging.models import OutboxEvent
from declaration_svc.declarations import amendments, service
from declaration_svc.declarations.errors import (
    DeclarationNotFound,
    IdempotencyKeyReused,
    IfMatchRequired,
    IllegalTransition,
    StaleVersion,
    VersionNotFound,
)
from declaration_svc.declarations.models import DeclarationStatus
from declaration_svc.declarations.schemas import DeclarationIn, DeclarationOut
from tests.support.factories import principal
from tests.support.samples import sample

pytestmark = pytest.mark.integration

BROKER = principal(Role.BROKER, "0312345673", "declarations:write", subject="demo-broker")
OTHER_BROKER = principal(Role.BROKER, "0318765434", "declarations:write", subject="demo-broker-b")
OFFICER = principal(Role.OFFICER, "customs-hq", "declarations:decide", subject="demo-officer")
Sessions = async_sessionmaker[AsyncSession]


def original() -> DeclarationIn:
    return DeclarationIn.model_validate(sample("declaration-enterprise"))


def amended_body() -> DeclarationIn:
    body = sample("declaration-enterprise")
    body["items"] = body["items"][:1]
    body["invoice"]["total"] = body["items"][0]["customs_value"]
    return DeclarationIn.model_validate(body)


async def submitted(sessions: Sessions) -> uuid.UUID:
    async with sessions() as session, session.begin():
        result = await service.submit(
            session=session, principal=BROKER, body=original(), idempotency_key=None
        )
    return result.declaration_id


def lane_event(declaration_id: uuid.UUID, version: int, lane: Lane) -> LaneAssigned:
    return LaneAssigned(
        declaration_id=declaration_id,
        version=version,
        tenant=BROKER.tenant,
        lane=lane,
        reasons=[LaneReason(rule="r", lane=lane, explanation=f"{lane} for v{version}")],
        rule_set_version="test",
        inputs={},
        decided_at=datetime.now(UTC),
    )


async def amend(
    sessions: Sessions, declaration_id: uuid.UUID, if_match: str | None, who: Principal = BROKER
) -> int:
    async with sessions() as session, session.begin():
        amended = await amendments.amend(
            session=session,
            principal=who,
            declaration_id=declaration_id,
            body=amended_body(),
            if_match=if_match,
        )
        return amended.version


async def current(sessions: Sessions, declaration_id: uuid.UUID) -> DeclarationOut:
    async with sessions() as session:
        return DeclarationOut.model_validate(
            await service.get(session=session, principal=BROKER, declaration_id=declaration_id)
        )


async def outbox(sessions: Sessions) -> list[dict[str, object]]:
    async with sessions() as session:
        payloads = await session.scalars(select(OutboxEvent.payload).order_by(OutboxEvent.seq))
        return [json.loads(p) for p in payloads]


async def test_an_amendment_is_a_new_version_and_the_old_one_stays_readable(
    sessions: Sessions,
) -> None:
    declaration_id = await submitted(sessions)
    async with sessions() as session, session.begin():
        await service.record_lane(session, lane_event(declaration_id, 1, Lane.YELLOW))
    assert await amend(sessions, declaration_id, '"v1"') == 2

    now = await current(sessions, declaration_id)
    assert (now.version, now.status, now.lane) == (2, "RECEIVED", None)
    assert len(now.items) == 1
    assert now.total_customs_value == 96_000_000
    assert now.timeline[-1].event == "amended"
    assert (now.timeline[-1].from_status, now.timeline[-1].to_status) == ("LANE_YELLOW", "RECEIVED")
    async with sessions() as session:
        old = await amendments.version(
            session=session, principal=BROKER, declaration_id=declaration_id, number=1
        )
        with pytest.raises(VersionNotFound):
            await amendments.version(
                session=session, principal=BROKER, declaration_id=declaration_id, number=3
            )
    assert (old.version, old.lane, len(old.items)) == (1, "yellow", 2)
    events = await outbox(sessions)
    assert [e["type"] for e in events] == [
        "customs.declaration.submitted.v1",
        "customs.declaration.amended.v1",
    ]
    data = events[1]["data"]
    assert isinstance(data, dict)
    assert data["version"] == 2
    assert len(data["items"]) == 1


async def test_results_for_the_replaced_version_are_ignored(sessions: Sessions) -> None:
    declaration_id = await submitted(sessions)
    await amend(sessions, declaration_id, '"v1"')
    async with sessions() as session, session.begin():
        old = SignatureChecked(
            declaration_id=declaration_id,
            version=1,
            tenant=BROKER.tenant,
            status=SignatureStatus.MISSING,
            detail="old",
        )
        await service.record_forwarded_screening(
            session,
            ScreeningForwarded(
                declaration_id=declaration_id, version=1, tenant=BROKER.tenant, signature=old
            ),
        )
        with_result = lane_event(declaration_id, 1, Lane.RED).model_copy(update={"signature": old})
        await service.record_lane(session, with_result)
    stale = await current(sessions, declaration_id)
    assert (stale.status, stale.lane, stale.signature_status) == ("RECEIVED", None, None)
    async with sessions() as session, session.begin():
        await service.record_lane(session, lane_event(declaration_id, 2, Lane.GREEN))
    fresh = await current(sessions, declaration_id)
    assert (fresh.status, fresh.lane) == ("LANE_GREEN", "green")


async def test_a_stale_or_missing_if_match_is_refused(sessions: Sessions) -> None:
    declaration_id = await submitted(sessions)
    await amend(sessions, declaration_id, '"v1"')
    with pytest.raises(StaleVersion) as stale:
        await amend(sessions, declaration_id, '"v1"')
    with pytest.raises(IfMatchRequired) as missing:
        await amend(sessions, declaration_id, None)
    assert stale.value.status == 412
    assert stale.value.extensions == {"current_etag": '"v2"'}
    assert missing.value.status == 428
    # If-Match compares strongly (RFC 9110 §13.1.1): the weak form of the current tag is no
    # match, while a list that holds the current tag is.
    with pytest.raises(StaleVersion):
        await amend(sessions, declaration_id, 'W/"v2"')
    assert await amend(sessions, declaration_id, '"v1", "v2"') == 3
    assert await amend(sessions, declaration_id, "*") == 4


async def test_no_amendment_after_release(sessions: Sessions) -> None:
    declaration_id = await submitted(sessions)
    async with sessions() as session, session.begin():
        await service.record_lane(session, lane_event(declaration_id, 1, Lane.GREEN))
        await service.change_status(
            session=session,
            principal=OFFICER,
            declaration_id=declaration_id,
            target=DeclarationStatus.RELEASED,
            reason="ok",
        )
    with pytest.raises(IllegalTransition) as raised:
        await amend(sessions, declaration_id, '"v1"')
    assert "RELEASED declaration cannot be amended" in str(raised.value.detail)


async def test_cancel_with_a_reason_then_nothing_more(sessions: Sessions) -> None:
    declaration_id = await submitted(sessions)
    async with sessions() as session, session.begin():
        await amendments.cancel(
            session=session,
            principal=BROKER,
            declaration_id=declaration_id,
            reason="Goods sold before arrival.",
            if_match=None,
        )
    cancelled = await current(sessions, declaration_id)
    assert cancelled.status == "CANCELLED"
    assert cancelled.timeline[-1].detail == "Goods sold before arrival."
    assert cancelled.timeline[-1].actor == "demo-broker"
    events = await outbox(sessions)
    assert events[-1]["type"] == "customs.declaration.cancelled.v1"
    with pytest.raises(IllegalTransition):
        await amend(sessions, declaration_id, '"v1"')
    async with sessions() as session, session.begin():
        with pytest.raises(IllegalTransition):
            await amendments.cancel(
                session=session,
                principal=BROKER,
                declaration_id=declaration_id,
                reason="again",
                if_match=None,
            )
        # A lane decided before the cancellation arrived changes nothing.
        await service.record_lane(session, lane_event(declaration_id, 1, Lane.GREEN))
    assert (await current(sessions, declaration_id)).status == "CANCELLED"


async def test_another_tenant_can_neither_amend_nor_cancel(sessions: Sessions) -> None:
    declaration_id = await submitted(sessions)
    with pytest.raises(DeclarationNotFound):
        await amend(sessions, declaration_id, '"v1"', who=OTHER_BROKER)
    async with sessions() as session, session.begin():
        with pytest.raises(DeclarationNotFound):
            await amendments.cancel(
                session=session,
                principal=OTHER_BROKER,
                declaration_id=declaration_id,
                reason="not mine",
                if_match=None,
            )
        with pytest.raises(DeclarationNotFound):
            await amendments.version(
                session=session, principal=OTHER_BROKER, declaration_id=declaration_id, number=1
            )


async def test_an_amendment_retried_with_its_key_is_answered_again_and_made_once(
    sessions: Sessions,
) -> None:
    """The retry of an amendment that was made carries an If-Match now stale: with the same
    Idempotency-Key it gets the first answer (the version made), not a 412, and no third
    version. The key with another body, or on another declaration, is a 422."""
    declaration_id = await submitted(sessions)
    other_id = await submitted(sessions)

    async def send(target: uuid.UUID, body: DeclarationIn, key: str) -> amendments.Amended:
        async with sessions() as session, session.begin():
            return await amendments.amend(
                session=session,
                principal=BROKER,
                declaration_id=target,
                body=body,
                if_match='"v1"',
                idempotency_key=key,
            )

    first = await send(declaration_id, amended_body(), "amend-1")
    again = await send(declaration_id, amended_body(), "amend-1")
    assert (first.version, first.status, first.replayed) == (2, "RECEIVED", False)
    assert (again.version, again.status, again.replayed) == (2, "RECEIVED", True)
    with pytest.raises(StaleVersion):  # a new key is a new amendment, of version 1: stale
        await send(declaration_id, amended_body(), "amend-2")
    with pytest.raises(IdempotencyKeyReused):
        await send(declaration_id, original(), "amend-1")
    with pytest.raises(IdempotencyKeyReused):
        await send(other_id, amended_body(), "amend-1")
    fresh = await current(sessions, declaration_id)
    assert fresh.version == 2
    async with sessions() as session:
        amended_events = [
            p
            for p in (await session.scalars(select(OutboxEvent.payload))).all()
            if json.loads(p)["type"] == "customs.declaration.amended.v1"
        ]
    assert len(amended_events) == 1
