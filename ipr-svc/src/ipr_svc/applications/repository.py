"""All SQL of IPR applications."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import and_, exists, or_, select, tuple_
from sqlalchemy.orm import aliased

from customs_shared.repository import RepositoryBase, SortKey
from ipr_svc.applications.models import IprApplication, IprDecision


class ApplicationRepository(RepositoryBase[IprApplication]):
    model = IprApplication
    tenant_column = "applicant_tenant"
    listing_order = (SortKey(IprApplication.filed_at, descending=True),)

    async def by_id(self, application_id: uuid.UUID) -> IprApplication | None:
        return await self.session.get(IprApplication, application_id)


RENEWAL_FILED = "renewal-filed"


class DecisionRepository(RepositoryBase[IprDecision]):
    model = IprDecision

    async def of_application(self, application_id: uuid.UUID) -> Sequence[IprDecision]:
        """The audit trail, oldest first."""
        statement = (
            select(IprDecision)
            .where(IprDecision.application_id == application_id)
            .order_by(IprDecision.decided_at, IprDecision.id)
        )
        return (await self.session.scalars(statement)).all()

    async def pending_renewals(
        self, *, after: IprDecision | None, limit: int
    ) -> Sequence[tuple[IprDecision, IprApplication]]:
        """Renewals filed on approved applications with no decision after them (the
        holder's newest renewal only), oldest first, after the renewal ``after``."""
        later = aliased(IprDecision)
        decided_since = exists().where(
            later.application_id == IprDecision.application_id,
            or_(
                later.decided_at > IprDecision.decided_at,
                and_(later.decided_at == IprDecision.decided_at, later.id > IprDecision.id),
            ),
        )
        statement = (
            select(IprDecision, IprApplication)
            .join(IprApplication, IprApplication.id == IprDecision.application_id)
            .where(
                IprDecision.action == RENEWAL_FILED,
                IprApplication.status == "approved",
                ~decided_since,
            )
            .order_by(IprDecision.decided_at, IprDecision.id)
            .limit(limit)
        )
        if after is not None:
            statement = statement.where(
                tuple_(IprDecision.decided_at, IprDecision.id) > (after.decided_at, after.id)
            )
        rows = (await self.session.execute(statement)).all()
        return [(decision, application) for decision, application in rows]

    async def by_id(self, decision_id: uuid.UUID) -> IprDecision | None:
        return await self.session.get(IprDecision, decision_id)
