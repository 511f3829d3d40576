"""All SQL of the declarations domain."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, tuple_
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.interfaces import ORMOption

from customs_shared.auth import Principal
from customs_shared.db import insert_at_commit, lock_all, locked, write_changes_at_commit
from customs_shared.problems import NotFound
from customs_shared.repository import RepositoryBase
from declaration_svc.declarations.models import (
    Declaration,
    DeclarationItem,
    DeclarationStatus,
    DeclarationVersion,
    IdempotencyKey,
    TimelineEntry,
)

# A batch of lanes changes as many declarations: one statement for all of them at commit.
write_changes_at_commit(Declaration)

# What the API shows of one declaration besides its row.
WITH_ITEMS_AND_TIMELINE: tuple[ORMOption, ...] = (
    selectinload(Declaration.items),
    selectinload(Declaration.timeline),
)


@dataclass(frozen=True, slots=True)
class ListFilter:
    """What a listing is narrowed to; every field optional."""

    status: DeclarationStatus | None = None
    lane: str | None = None
    submitted_from: datetime | None = None
    submitted_to: datetime | None = None
    customs_office: str | None = None
    declarant_tax_code: str | None = None

    def scope(self, tenant: str | None) -> str:
        """What a cursor is valid for: this listing, the caller's tenant view and its
        filter. A cursor used under another tenant or filter is refused, not reinterpreted."""
        parts = [f"tenant={tenant or '*'}", f"status={self.status or '*'}"]
        extra = {
            "lane": self.lane,
            "from": self.submitted_from.isoformat() if self.submitted_from else None,
            "to": self.submitted_to.isoformat() if self.submitted_to else None,
            "office": self.customs_office,
            "declarant": self.declarant_tax_code,
        }
        parts += [f"{name}={value}" for name, value in extra.items() if value is not None]
        return "declarations|" + "|".join(parts)


class DeclarationRepository(RepositoryBase[Declaration]):
    model = Declaration

    async def get(self, declaration_id: uuid.UUID) -> Declaration | None:
        return await self.session.get(Declaration, declaration_id)

    async def lock_all(self, declaration_ids: Iterable[uuid.UUID]) -> None:
        """Locks the rows of a consumer batch's declarations in one statement."""
        await lock_all(self.session, Declaration, declaration_ids)

    async def get_for_update(self, declaration_id: uuid.UUID) -> Declaration | None:
        """The row alone, locked (result handlers need neither items nor timeline); no
        statement when :meth:`lock_all` already locked it in this transaction."""
        held = locked(self.session, Declaration, declaration_id)
        if held is not None:
            return held
        statement = select(Declaration).where(Declaration.id == declaration_id).with_for_update()
        return (await self.session.scalars(statement)).one_or_none()

    async def page(
        self,
        *,
        tenant: str | None,
        limit: int,
        after: tuple[datetime, uuid.UUID] | None,
        filters: ListFilter,
    ) -> Sequence[Declaration]:
        # Newest first, the id breaking ties: a stable order for keyset pages.
        statement = select(Declaration).order_by(
            Declaration.created_at.desc(), Declaration.id.desc()
        )
        if tenant is not None:
            statement = statement.where(Declaration.tenant == tenant)
        conditions = {
            Declaration.status: filters.status,
            Declaration.lane: filters.lane,
            Declaration.customs_office: filters.customs_office,
            Declaration.declarant_tax_code: filters.declarant_tax_code,
        }
        for column, value in conditions.items():
            if value is not None:
                statement = statement.where(column == value)
        if filters.submitted_from is not None:
            statement = statement.where(Declaration.created_at >= filters.submitted_from)
        if filters.submitted_to is not None:
            statement = statement.where(Declaration.created_at < filters.submitted_to)
        if after is not None:
            statement = statement.where(tuple_(Declaration.created_at, Declaration.id) < after)
        return (await self.session.scalars(statement.limit(limit))).all()

    async def get_visible_for_update_or_404(
        self,
        declaration_id: uuid.UUID,
        principal: Principal,
        not_found: NotFound,
        *,
        options: Sequence[ORMOption] = (),
    ) -> Declaration:
        """The row, locked, if the caller may see it (changes go one at a time)."""
        statement = self._visible(declaration_id, principal).with_for_update().options(*options)
        row = (await self.session.scalars(statement)).one_or_none()
        if row is None:
            raise not_found
        return row

    async def replace_items(self, declaration: Declaration, items: list[DeclarationItem]) -> None:
        """The declaration's items become ``items`` (same line numbers, new rows)."""
        for old in declaration.items:
            self.session.expunge(old)
        self.session.expire(declaration, ["items"])
        await self.session.execute(
            delete(DeclarationItem).where(DeclarationItem.declaration_id == declaration.id)
        )
        self.session.add_all(items)

    async def version(self, declaration_id: uuid.UUID, version: int) -> DeclarationVersion | None:
        return await self.session.get(DeclarationVersion, (declaration_id, version))

    def add_version(self, version: DeclarationVersion) -> None:
        self.session.add(version)

    def add_timeline_entry(self, entry: TimelineEntry) -> None:
        # Written at commit with the transaction's other entries in one executemany, of one
        # statement text: through the unit of work their keys came back by RETURNING, a
        # multi-row VALUES whose text, and so whose prepared plan on every connection,
        # changed with the number of entries. An explicit flush writes them too.
        insert_at_commit(self.session, entry)


class IdempotencyKeyRepository(RepositoryBase[IdempotencyKey]):
    model = IdempotencyKey

    async def find(self, tenant: str, key: str) -> IdempotencyKey | None:
        return await self.session.get(IdempotencyKey, (tenant, key))

    async def claim(
        self,
        tenant: str,
        key: str,
        request_hash: str,
        declaration_id: uuid.UUID,
        *,
        version: int | None = None,
        document_id: uuid.UUID | None = None,
    ) -> bool:
        """Takes the key for this request; False when a finished request holds it (the
        caller holds the key's advisory lock, so none of the same key is in flight)."""
        return await self.insert_if_absent(
            tenant=tenant,
            key=key,
            request_hash=request_hash,
            declaration_id=declaration_id,
            version=version,
            document_id=document_id,
        )

    async def purge(self, created_before: datetime) -> int:
        statement = delete(IdempotencyKey).where(IdempotencyKey.created_at < created_before)
        result = cast(CursorResult[Any], await self.session.execute(statement))
        return int(result.rowcount)
