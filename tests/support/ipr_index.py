"""The IPR index a replica would hold, built here from the records table: tests that call
the screening handler directly have no topic follower running."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.db import utcnow
from ipr_svc.records.service import state
from ipr_svc.screening.index import RecordIndex
from ipr_svc.screening.models import IprRecord
from ipr_svc.screening.replica import ActiveSet


async def index_from_table(sessions: async_sessionmaker[AsyncSession]) -> RecordIndex:
    active = ActiveSet()
    async with sessions() as session:
        for row in (await session.scalars(select(IprRecord))).all():
            active.apply(state(row), utcnow())
    return active.index
