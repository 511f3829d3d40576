"""All SQL of the declarations domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from customs_shared.db import insert_if_absent
from declaration_svc.declarations.models import Declaration, IdempotencyKey, TimelineEntry


async def get(session: AsyncSession, declaration_id: uuid.UUID) -> Declaration | None:
    return await session.get(Declaration, declaration_id)


async def get_for_update(session: AsyncSession, declaration_id: uuid.UUID) -> Declaration | None:
    """The declaration row alone, locked (result handlers need neither items nor timeline)."""
    statement = select(Declaration).where(Declaration.id == declaration_id).with_for_update()
    return (await session.scalars(statement)).one_or_none()


async def get_visible(
    session: AsyncSession, declaration_id: uuid.UUID, tenant: str | None
) -> Declaration | None:
    """The declaration if ``tenant`` may see it (``None``: any tenant)."""
    statement = (
        select(Declaration)
        .where(Declaration.id == declaration_id)
        .options(selectinload(Declaration.items), selectinload(Declaration.timeline))
    )
    if tenant is not None:
        statement = statement.where(Declaration.tenant == tenant)
    return (await session.scalars(statement)).one_or_none()


async def page(
    session: AsyncSession,
    *,
    tenant: str | None,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
    status: str | None,
) -> Sequence[Declaration]:
    statement = select(Declaration).order_by(Declaration.created_at.desc(), Declaration.id.desc())
    if tenant is not None:
        statement = statement.where(Declaration.tenant == tenant)
    if status is not None:
        statement = statement.where(Declaration.status == status)
    if after is not None:
        statement = statement.where(tuple_(Declaration.created_at, Declaration.id) < after)
    return (await session.scalars(statement.limit(limit))).all()


def add(session: AsyncSession, declaration: Declaration) -> None:
    session.add(declaration)


def add_timeline(session: AsyncSession, entry: TimelineEntry) -> None:
    session.add(entry)


async def find_idempotency_key(
    session: AsyncSession, tenant: str, key: str
) -> IdempotencyKey | None:
    return await session.get(IdempotencyKey, (tenant, key))


async def claim_idempotency_key(
    session: AsyncSession, tenant: str, key: str, request_hash: str, declaration_id: uuid.UUID
) -> bool:
    """Takes the key for this request; False when another request holds it already
    (a concurrent one first waits for that request's transaction to end)."""
    return await insert_if_absent(
        session,
        IdempotencyKey,
        tenant=tenant,
        key=key,
        request_hash=request_hash,
        declaration_id=declaration_id,
    )
