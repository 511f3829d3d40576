"""All SQL of rule sets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.rules.models import RuleSet

DRAFT = "draft"
ACTIVE = "active"
RETIRED = "retired"


async def active_version(session: AsyncSession) -> int | None:
    statement = select(RuleSet.version).where(RuleSet.status == ACTIVE)
    return (await session.scalars(statement)).one_or_none()


async def active(session: AsyncSession, *, lock: bool = False) -> RuleSet | None:
    statement = select(RuleSet).where(RuleSet.status == ACTIVE)
    if lock:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).one_or_none()


async def get(session: AsyncSession, version: int, *, lock: bool = False) -> RuleSet | None:
    statement = select(RuleSet).where(RuleSet.version == version)
    if lock:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).one_or_none()


async def page(session: AsyncSession, *, before: int | None, limit: int) -> Sequence[RuleSet]:
    statement = select(RuleSet).order_by(RuleSet.version.desc()).limit(limit)
    if before is not None:
        statement = statement.where(RuleSet.version < before)
    return (await session.scalars(statement)).all()


async def insert(session: AsyncSession, definition: dict[str, Any], created_by: str) -> RuleSet:
    """A new draft; flushed, so its version is known."""
    row = RuleSet(definition=definition, status=DRAFT, created_by=created_by)
    session.add(row)
    await session.flush()
    return row


async def retire(session: AsyncSession, row: RuleSet) -> None:
    """Retires ``row`` at once: the one-active index must see it gone before its
    successor becomes active."""
    row.status = RETIRED
    await session.flush()
