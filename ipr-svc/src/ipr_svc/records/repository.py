"""All SQL of IPR records."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select

from customs_shared.repository import RepositoryBase, SortKey
from ipr_svc.screening.models import IprRecord


class RecordRepository(RepositoryBase[IprRecord]):
    model = IprRecord
    tenant_column = "holder_tenant"
    listing_order = (SortKey(IprRecord.updated_at, descending=True),)

    async def by_registration_numbers(self, numbers: Iterable[str]) -> dict[str, IprRecord]:
        wanted = list(numbers)
        if not wanted:
            return {}
        statement = select(IprRecord).where(IprRecord.registration_number.in_(wanted))
        rows = (await self.session.scalars(statement)).all()
        return {r.registration_number: r for r in rows if r.registration_number is not None}

    async def lapsed(self, now: datetime) -> Sequence[IprRecord]:
        statement = (
            select(IprRecord)
            .where(IprRecord.status == "active", IprRecord.valid_until <= now)
            .limit(1000)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(statement)).all()
