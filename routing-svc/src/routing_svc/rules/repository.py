"""All SQL of rule sets."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.rules.models import RuleSet

ACTIVE = "active"


async def active_version(session: AsyncSession) -> int | None:
    statement = select(RuleSet.version).where(RuleSet.status == ACTIVE)
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
