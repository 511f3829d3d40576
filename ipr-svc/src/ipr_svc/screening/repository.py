"""All SQL of IPR screening: recorded rights and screening results."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from customs_shared.repository import RepositoryBase
from ipr_svc.screening.models import IprRecord, IprScreening


class IprRecordRepository(RepositoryBase[IprRecord]):
    model = IprRecord
    tenant_column = "holder_tenant"

    async def active(self, at: datetime) -> Sequence[IprRecord]:
        statement = select(IprRecord).where(
            IprRecord.status == "active", IprRecord.valid_from <= at, IprRecord.valid_until > at
        )
        return (await self.session.scalars(statement)).all()


class IprScreeningRepository(RepositoryBase[IprScreening]):
    model = IprScreening
