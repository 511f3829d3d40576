"""All SQL of officers, their queues, overrides and inspection outcomes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.officers.models import Assignment, Officer


async def least_loaded_officer(session: AsyncSession, office: str) -> str | None:
    """The on-duty officer of ``office`` with the fewest open assignments (then by name,
    so ties go the same way on every replica)."""
    open_count = (
        select(func.count(Assignment.declaration_id))
        .where(Assignment.officer == Officer.subject, Assignment.closed_at.is_(None))
        .scalar_subquery()
    )
    statement = (
        select(Officer.subject)
        .where(Officer.office == office, Officer.on_duty.is_(True))
        .order_by(open_count, Officer.subject)
        .limit(1)
    )
    return (await session.scalars(statement)).first()


async def assignment(
    session: AsyncSession, declaration_id: uuid.UUID, *, lock: bool = False
) -> Assignment | None:
    statement = select(Assignment).where(Assignment.declaration_id == declaration_id)
    if lock:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).one_or_none()


async def open_assignments(
    session: AsyncSession, officer: str, *, limit: int
) -> Sequence[Assignment]:
    statement = (
        select(Assignment)
        .where(Assignment.officer == officer, Assignment.closed_at.is_(None))
        .order_by(Assignment.assigned_at)
        .limit(limit)
    )
    return (await session.scalars(statement)).all()
