"""All SQL of IPR screening results and hits."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from customs_shared.auth import Principal, tenant_scope
from customs_shared.repository import RepositoryBase
from ipr_svc.screening.models import IprHitRow, IprScreening


class IprScreeningRepository(RepositoryBase[IprScreening]):
    model = IprScreening


class IprHitRepository(RepositoryBase[IprHitRow]):
    model = IprHitRow
    tenant_column = "holder_tenant"

    async def visible(self, principal: Principal, limit: int) -> Sequence[IprHitRow]:
        """Hits on the caller's own rights, newest first; customs staff see every one."""
        statement = select(IprHitRow).order_by(IprHitRow.screened_at.desc(), IprHitRow.id)
        tenant = tenant_scope(principal)
        if tenant is not None:
            statement = statement.where(IprHitRow.holder_tenant == tenant)
        return (await self.session.scalars(statement.limit(limit))).all()
