"""All SQL of IPR suspensions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select

from customs_shared.repository import RepositoryBase, SortKey
from ipr_svc.suspension.models import IprSuspension


class SuspensionRepository(RepositoryBase[IprSuspension]):
    model = IprSuspension
    tenant_column = "holder_tenant"
    listing_order = (SortKey(IprSuspension.updated_at, descending=True),)

    async def lapsed(self, today: date) -> Sequence[IprSuspension]:
        statement = (
            select(IprSuspension)
            .where(IprSuspension.status == "suspended", IprSuspension.deadline < today)
            .limit(1000)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(statement)).all()
