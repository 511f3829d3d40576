"""All SQL of officers, their queues, overrides and inspection outcomes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Uuid, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.db import UtcDateTime, write_queued
from customs_shared.pagination import KeysetPosition
from customs_shared.repository import RepositoryBase, SortKey
from routing_svc.lanes.models import LaneDecision
from routing_svc.officers.models import Assignment, InspectionOutcome, Officer


async def open_counts(session: AsyncSession, office: str) -> list[tuple[str, int]]:
    """Each on-duty officer of ``office`` with the count of their open assignments."""
    statement = (
        select(Officer.subject, func.count(Assignment.declaration_id))
        .outerjoin(
            Assignment,
            (Assignment.officer == Officer.subject) & Assignment.closed_at.is_(None),
        )
        .where(Officer.office == office, Officer.on_duty.is_(True))
        .group_by(Officer.subject)
    )
    return [(subject, count) for subject, count in (await session.execute(statement)).all()]


async def assignment(
    session: AsyncSession, declaration_id: uuid.UUID, *, lock: bool = False
) -> Assignment | None:
    await write_queued(session)  # one this transaction gave out is among them
    statement = select(Assignment).where(Assignment.declaration_id == declaration_id)
    if lock:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).one_or_none()


async def officer(session: AsyncSession, subject: str) -> Officer | None:
    return await session.get(Officer, subject)


class OfficerRepository(RepositoryBase[Officer]):
    model = Officer
    tenant_column = None  # customs' own: only its staff see them
    listing_order = (SortKey(Officer.office),)


async def queue(
    session: AsyncSession, officer: str, *, after: KeysetPosition | None, limit: int
) -> Sequence[tuple[Assignment, LaneDecision]]:
    """The officer's open assignments, oldest first, each with its current decision."""
    statement = (
        select(Assignment, LaneDecision)
        .join(LaneDecision, LaneDecision.declaration_id == Assignment.declaration_id)
        .where(Assignment.officer == officer, Assignment.closed_at.is_(None))
        .order_by(Assignment.assigned_at, Assignment.declaration_id)
        .limit(limit)
    )
    if after is not None:
        statement = statement.where(
            tuple_(Assignment.assigned_at, Assignment.declaration_id)
            > tuple_(literal(after.created_at, UtcDateTime()), literal(after.id, Uuid()))
        )
    return [(row[0], row[1]) for row in (await session.execute(statement)).all()]


async def inspection(
    session: AsyncSession, declaration_id: uuid.UUID, version: int
) -> InspectionOutcome | None:
    return await session.get(InspectionOutcome, (declaration_id, version))


async def open_of_officer(
    session: AsyncSession, officer: str, *, limit: int
) -> Sequence[Assignment]:
    statement = (
        select(Assignment)
        .where(Assignment.officer == officer, Assignment.closed_at.is_(None))
        .order_by(Assignment.assigned_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(statement)).all()


async def unowned(session: AsyncSession, office: str, *, limit: int) -> Sequence[Assignment]:
    statement = (
        select(Assignment)
        .where(
            Assignment.office == office,
            Assignment.officer.is_(None),
            Assignment.closed_at.is_(None),
        )
        .order_by(Assignment.assigned_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(statement)).all()
