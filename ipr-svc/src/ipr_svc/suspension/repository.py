"""All SQL of IPR suspensions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select

from customs_shared.auth import Principal, tenant_scope
from customs_shared.repository import RepositoryBase
from ipr_svc.suspension.models import IprSuspension


class SuspensionRepository(RepositoryBase[IprSuspension]):
    model = IprSuspension
    tenant_column = "holder_tenant"

    async def visible(self, principal: Principal, limit: int) -> Sequence[IprSuspension]:
        """The pull list: the holder's own suspensions, newest first; staff see all."""
        statement = select(IprSuspension).order_by(
            IprSuspension.updated_at.desc(), IprSuspension.id
        )
        tenant = tenant_scope(principal)
        if tenant is not None:
            statement = statement.where(IprSuspension.holder_tenant == tenant)
        return (await self.session.scalars(statement.limit(limit))).all()

    async def lapsed(self, today: date) -> Sequence[IprSuspension]:
        statement = (
            select(IprSuspension)
            .where(IprSuspension.status == "suspended", IprSuspension.deadline < today)
            .limit(1000)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(statement)).all()
