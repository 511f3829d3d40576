from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ipr_svc.screening.models import IprRecord, IprScreening


async def active_records(session: AsyncSession, at: datetime) -> Sequence[IprRecord]:
    statement = select(IprRecord).where(
        IprRecord.status == "active", IprRecord.valid_from <= at, IprRecord.valid_until > at
    )
    return (await session.scalars(statement)).all()


async def screening_exists(session: AsyncSession, declaration_id: uuid.UUID) -> bool:
    return await session.get(IprScreening, declaration_id) is not None


async def get_visible(
    session: AsyncSession, declaration_id: uuid.UUID, tenant: str | None
) -> IprScreening | None:
    statement = select(IprScreening).where(IprScreening.declaration_id == declaration_id)
    if tenant is not None:
        statement = statement.where(IprScreening.tenant == tenant)
    return (await session.scalars(statement)).one_or_none()


def add(session: AsyncSession, screening: IprScreening) -> None:
    session.add(screening)
