"""All SQL of the declarations domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.interfaces import ORMOption

from customs_shared.repository import RepositoryBase
from declaration_svc.declarations.models import Declaration, IdempotencyKey, TimelineEntry

# What the API shows of one declaration besides its row.
WITH_ITEMS_AND_TIMELINE: tuple[ORMOption, ...] = (
    selectinload(Declaration.items),
    selectinload(Declaration.timeline),
)


class DeclarationRepository(RepositoryBase[Declaration]):
    model = Declaration

    async def get(self, declaration_id: uuid.UUID) -> Declaration | None:
        return await self.session.get(Declaration, declaration_id)

    async def get_for_update(self, declaration_id: uuid.UUID) -> Declaration | None:
        """The row alone, locked (result handlers need neither items nor timeline)."""
        statement = select(Declaration).where(Declaration.id == declaration_id).with_for_update()
        return (await self.session.scalars(statement)).one_or_none()

    async def page(
        self,
        *,
        tenant: str | None,
        limit: int,
        after: tuple[datetime, uuid.UUID] | None,
        status: str | None,
    ) -> Sequence[Declaration]:
        statement = select(Declaration).order_by(
            Declaration.created_at.desc(), Declaration.id.desc()
        )
        if tenant is not None:
            statement = statement.where(Declaration.tenant == tenant)
        if status is not None:
            statement = statement.where(Declaration.status == status)
        if after is not None:
            statement = statement.where(tuple_(Declaration.created_at, Declaration.id) < after)
        return (await self.session.scalars(statement.limit(limit))).all()

    def add_timeline_entry(self, entry: TimelineEntry) -> None:
        self.session.add(entry)


class IdempotencyKeyRepository(RepositoryBase[IdempotencyKey]):
    model = IdempotencyKey

    async def find(self, tenant: str, key: str) -> IdempotencyKey | None:
        return await self.session.get(IdempotencyKey, (tenant, key))

    async def claim(
        self, tenant: str, key: str, request_hash: str, declaration_id: uuid.UUID
    ) -> bool:
        """Takes the key for this request; False when another request holds it already
        (a concurrent one first waits for that request's transaction to end)."""
        return await self.insert_if_absent(
            tenant=tenant, key=key, request_hash=request_hash, declaration_id=declaration_id
        )
