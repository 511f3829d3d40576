"""Listing and search within the caller's tenant, on a real PostgreSQL: each filter,
stable keyset pages, and cursors bound to their filter."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import Principal, Role
from customs_shared.events.schemas import Lane, LaneAssigned, LaneReason
from customs_shared.pagination import CursorCodec
from customs_shared.problems import InvalidCursor
from declaration_svc.declarations import service
from declaration_svc.declarations.models import DeclarationStatus
from declaration_svc.declarations.repository import ListFilter
from declaration_svc.declarations.schemas import DeclarationIn
from tests.support.factories import principal
from tests.support.samples import sample

pytestmark = pytest.mark.integration

BROKER = principal(
    Role.BROKER,
    "0312345673",
    "declarations:write",
    "declarations:read",
    subject="demo-broker",
)
OTHER = principal(
    Role.BROKER,
    "0318765434",
    "declarations:read",
    "declarations:write",
    subject="demo-broker-b",
)
CURSORS = CursorCodec(b"k" * 32)
Sessions = async_sessionmaker[AsyncSession]


async def declare(sessions: Sessions, who: Principal, **changes: object) -> uuid.UUID:
    body = DeclarationIn.model_validate({**sample("declaration-individual"), **changes})
    async with sessions() as session, session.begin():
        result = await service.submit(
            session=session, principal=who, body=body, idempotency_key=None
        )
    return result.declaration_id


async def listed(
    sessions: Sessions, filters: ListFilter, who: Principal = BROKER, limit: int = 50
) -> list[uuid.UUID]:
    async with sessions() as session:
        rows, _ = await service.list_page(
            session=session,
            principal=who,
            cursors=CURSORS,
            limit=limit,
            cursor=None,
            filters=filters,
        )
    return [r.id for r in rows]


async def test_each_filter_narrows_the_tenants_list(sessions: Sessions) -> None:
    start = datetime.now(UTC)
    hanoi = await declare(sessions, BROKER, customs_office="01B1")
    saigon = await declare(sessions, BROKER)
    enterprise = await declare(sessions, BROKER, **sample("declaration-enterprise"))
    theirs = await declare(sessions, OTHER, customs_office="01B1")
    async with sessions() as session, session.begin():
        await service.record_lane(
            session,
            LaneAssigned(
                declaration_id=saigon,
                tenant=BROKER.tenant,
                lane=Lane.RED,
                reasons=[LaneReason(rule="r", lane=Lane.RED, explanation="x")],
                rule_set_version="t",
                inputs={},
                decided_at=datetime.now(UTC),
            ),
        )
    assert await listed(sessions, ListFilter()) == [enterprise, saigon, hanoi]
    assert await listed(sessions, ListFilter(customs_office="01B1")) == [hanoi]
    assert await listed(sessions, ListFilter(lane="red")) == [saigon]
    assert await listed(sessions, ListFilter(status=DeclarationStatus.LANE_RED)) == [saigon]
    assert await listed(sessions, ListFilter(status=DeclarationStatus.RECEIVED)) == [
        enterprise,
        hanoi,
    ]
    assert await listed(sessions, ListFilter(declarant_tax_code="0314409058")) == [enterprise]
    assert await listed(sessions, ListFilter(submitted_from=start)) == [enterprise, saigon, hanoi]
    assert await listed(sessions, ListFilter(submitted_to=start)) == []
    later = datetime.now(UTC) + timedelta(seconds=1)
    assert await listed(sessions, ListFilter(submitted_from=later)) == []
    assert theirs not in await listed(sessions, ListFilter(customs_office="01B1"))


async def test_pages_are_stable_and_cursors_keep_their_filter(sessions: Sessions) -> None:
    ids = [await declare(sessions, BROKER, customs_office="01B1") for _ in range(5)]
    filters = ListFilter(customs_office="01B1")
    seen: list[uuid.UUID] = []
    cursor = None
    async with sessions() as session:
        for _ in range(5):
            rows, cursor = await service.list_page(
                session=session,
                principal=BROKER,
                cursors=CURSORS,
                limit=2,
                cursor=cursor,
                filters=filters,
            )
            seen += [r.id for r in rows]
            if cursor is None:
                break
        first, next_cursor = await service.list_page(
            session=session,
            principal=BROKER,
            cursors=CURSORS,
            limit=2,
            cursor=None,
            filters=filters,
        )
        assert next_cursor is not None
        with pytest.raises(InvalidCursor):
            await service.list_page(
                session=session,
                principal=BROKER,
                cursors=CURSORS,
                limit=2,
                cursor=next_cursor,
                filters=ListFilter(customs_office="02CI"),
            )
    assert seen == ids[::-1]
    assert [r.id for r in first] == ids[::-1][:2]
