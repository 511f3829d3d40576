"""ipr-svc's handler on a real PostgreSQL built by its migrations."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.messaging.models import OutboxEvent
from ipr_svc.screening import service
from ipr_svc.screening.models import IprRecord, IprScreening
from tests.support.factories import declaration_submitted, item_facts
from tests.support.ipr_index import index_from_table
from tests.support.postgres import sent_statements

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


async def test_a_batch_is_looked_up_once_and_written_with_the_commit(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A consumer's batch: which declarations are screened already is one query; the
    screenings and their events are the commit's one statement. A re-sent declaration
    keeps its first screening, and an amendment in the same batch replaces the
    screening of the version before it."""
    index = await index_from_table(sessions)
    resent = declaration_submitted(items=[item_facts(brand="Acme")])
    async with sessions() as session, session.begin():
        await service.screen_declaration(session, resent, index)
    batch = [declaration_submitted(items=[item_facts(brand="Acme")]) for _ in range(3)]
    amended = batch[0].model_copy(update={"version": 2})
    session = sessions()
    with sent_statements(session) as sent:
        async with session, session.begin():
            await service.find_screenings(session, [*batch, resent])
            for data in (*batch, resent):
                await service.screen_declaration(session, data, index)
            await service.rescreen(session, amended, index)

    assert sum(s.startswith("SELECT") and "FROM ipr_screenings" in s for s in sent) == 1
    # The rows queued before the amendment's delete, then the amendment's with the commit.
    assert sum("INSERT INTO ipr_screenings" in s for s in sent) == 2
    async with sessions() as session:
        screened = (await session.scalars(select(IprScreening.declaration_id))).all()
        payloads = (await session.scalars(select(OutboxEvent.payload))).all()
    assert sorted(screened) == sorted(d.declaration_id for d in (*batch, resent))
    published = [json.loads(p)["data"] for p in payloads]
    assert sorted((d["declaration_id"], d["version"]) for d in published) == sorted(
        [(str(d.declaration_id), 1) for d in (*batch, resent)] + [(str(amended.declaration_id), 2)]
    )


async def test_a_screening_another_replica_committed_meanwhile_is_found_again(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    index = await index_from_table(sessions)
    data = declaration_submitted(items=[item_facts(brand="Acme")])
    session = sessions()
    await session.begin()
    await service.find_screenings(session, [data])
    await service.screen_declaration(session, data, index)
    async with sessions() as other, other.begin():
        await service.screen_declaration(other, data, index)
    with pytest.raises(IntegrityError):
        await session.commit()
    await session.close()
    async with sessions() as session, session.begin():
        await service.screen_declaration(session, data, index)

    async with sessions() as session:
        screenings = await session.scalar(select(func.count()).select_from(IprScreening))
        events = await session.scalar(select(func.count()).select_from(OutboxEvent))
    assert (screenings, events) == (1, 1)
