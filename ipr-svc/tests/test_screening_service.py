"""ipr-svc's handler on a real PostgreSQL built by its migrations."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.messaging.models import OutboxEvent
from ipr_svc.screening import service
from ipr_svc.screening.models import IprRecord, IprScreening
from tests.support.factories import declaration_submitted, item_facts
from tests.support.ipr_index import index_from_table

pytestmark = pytest.mark.integration


async def screen(sessions: async_sessionmaker[AsyncSession], brand: str) -> IprScreening:
    data = declaration_submitted(items=[item_facts(brand=brand)])
    index = await index_from_table(sessions)
    async with sessions() as session, session.begin():
        await service.screen_declaration(session, data, index)
    async with sessions() as session:
        return (
            await session.scalars(
                select(IprScreening).where(IprScreening.declaration_id == data.declaration_id)
            )
        ).one()


async def test_screening_without_records_then_with_a_matching_one(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert (await screen(sessions, "Acme")).outcome == "no_records"

    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        session.add_all(
            [
                IprRecord(
                    holder_tenant="0104567890",
                    brands=["Acme"],
                    hs_headings=["6109"],
                    valid_from=now - timedelta(days=1),
                    valid_until=now + timedelta(days=365),
                ),
                IprRecord(  # expired: not screened against
                    holder_tenant="0104567890",
                    brands=["Globex"],
                    hs_headings=[],
                    valid_from=now - timedelta(days=800),
                    valid_until=now - timedelta(days=1),
                ),
            ]
        )
    hit = await screen(sessions, "ACME")
    clear = await screen(sessions, "Globex")
    assert hit.outcome == "hit"
    assert [(h["item_line"], h["matched"], h["text"]) for h in hit.hits] == [(1, "Acme", "ACME")]
    assert (clear.outcome, clear.records_checked) == ("clear", 1)


async def test_an_amended_version_is_screened_again(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        session.add(
            IprRecord(
                holder_tenant="0104567890",
                brands=["Acme"],
                hs_headings=["6109"],
                valid_from=now - timedelta(days=1),
                valid_until=now + timedelta(days=365),
            )
        )
    original = declaration_submitted(items=[item_facts(brand="Acme")])
    amended = original.model_copy(update={"version": 2, "items": [item_facts(brand="Plain")]})
    index = await index_from_table(sessions)
    async with sessions() as session, session.begin():
        await service.screen_declaration(session, original, index)
    async with sessions() as session, session.begin():
        await service.rescreen(session, amended, index)
    async with sessions() as session:
        screening = await session.get(IprScreening, original.declaration_id)
        payloads = (await session.scalars(select(OutboxEvent.payload))).all()
    assert screening is not None
    assert screening.outcome == "clear"
    published = [json.loads(p)["data"] for p in payloads]
    assert [(d["version"], d["outcome"]) for d in published] == [(1, "hit"), (2, "clear")]
