"""All SQL of IPR applications."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from customs_shared.auth import Principal, tenant_scope
from customs_shared.repository import RepositoryBase
from ipr_svc.applications.models import IprApplication


class ApplicationRepository(RepositoryBase[IprApplication]):
    model = IprApplication
    tenant_column = "applicant_tenant"

    async def visible(self, principal: Principal, limit: int) -> Sequence[IprApplication]:
        """The caller's own applications, newest first; customs staff see every one."""
        statement = select(IprApplication).order_by(
            IprApplication.filed_at.desc(), IprApplication.id
        )
        tenant = tenant_scope(principal)
        if tenant is not None:
            statement = statement.where(IprApplication.applicant_tenant == tenant)
        return (await self.session.scalars(statement.limit(limit))).all()
