"""All SQL of routing's cases and lane decisions."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.util import identity_key

from customs_shared.db import (
    lock_or_insert,
    lock_or_insert_all,
    locked,
    upsert_values_at_commit,
    write_changes_at_commit,
    write_queued,
)
from customs_shared.repository import RepositoryBase
from routing_svc.lanes.models import LaneDecision, RoutingCase

# A batch's events change as many cases: one statement for all of them at commit.
write_changes_at_commit(RoutingCase)


async def locked_case(session: AsyncSession, declaration_id: uuid.UUID) -> RoutingCase | None:
    held = locked(session, RoutingCase, declaration_id)
    if held is not None:
        return held
    statement = (
        select(RoutingCase).where(RoutingCase.declaration_id == declaration_id).with_for_update()
    )
    return (await session.scalars(statement)).one_or_none()


def held_case(session: AsyncSession, declaration_id: uuid.UUID) -> RoutingCase | None:
    """The case if this transaction has locked it already (no statement)."""
    return locked(session, RoutingCase, declaration_id)


async def lock_or_create_case(
    session: AsyncSession, declaration_id: uuid.UUID, tenant: str
) -> RoutingCase:
    """The case row, locked for this transaction (created on the first event seen)."""
    return await lock_or_insert(session, RoutingCase, declaration_id=declaration_id, tenant=tenant)


async def lock_or_create_cases(
    session: AsyncSession, keys: Iterable[tuple[uuid.UUID, str]]
) -> None:
    """:func:`lock_or_create_case` for a batch's declarations (id, tenant), in one statement."""
    rows = [{"declaration_id": declaration_id, "tenant": tenant} for declaration_id, tenant in keys]
    await lock_or_insert_all(session, RoutingCase, rows)


async def overdue_cases(session: AsyncSession, now: datetime, limit: int) -> Sequence[RoutingCase]:
    statement = (
        select(RoutingCase)
        .where(RoutingCase.decided_at.is_(None), RoutingCase.deadline_at <= now)
        .order_by(RoutingCase.deadline_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(statement)).all()


async def current_decision(
    session: AsyncSession, declaration_id: uuid.UUID, *, lock: bool = False
) -> LaneDecision | None:
    await write_queued(session)  # a decision of this transaction is among them
    statement = select(LaneDecision).where(LaneDecision.declaration_id == declaration_id)
    if lock:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).one_or_none()


async def store_decision(session: AsyncSession, decision: LaneDecision) -> None:
    """Stores a version's decision; a newer version's (or revision's) replaces the one
    before, so there is one current decision per declaration. A new decision is upserted
    with the transaction's other new rows, in its commit's one statement (nothing reads
    it back before, but :func:`current_decision`, which writes it first); one this
    transaction loaded (a re-decision, an override), or whose predecessor it loaded,
    goes through the session, so the two never disagree."""
    if decision in session:
        return  # loaded and changed: the flush writes it
    if identity_key(LaneDecision, decision.declaration_id) in session.identity_map:
        await session.merge(decision)
        return
    given = inspect(decision).dict  # the attributes set; the others take their defaults
    values = {a.key: given[a.key] for a in inspect(LaneDecision).column_attrs if a.key in given}
    upsert_values_at_commit(
        session, LaneDecision, [values], update=[k for k in values if k not in _KEY]
    )


_KEY = frozenset({"declaration_id"})


async def recent_decisions(session: AsyncSession, limit: int) -> Sequence[LaneDecision]:
    """The newest decisions first: what a dry run replays."""
    statement = select(LaneDecision).order_by(LaneDecision.decided_at.desc()).limit(limit)
    return (await session.scalars(statement)).all()


class LaneDecisionRepository(RepositoryBase[LaneDecision]):
    model = LaneDecision
