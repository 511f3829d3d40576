"""Puts yellow and red declarations in the queue of an officer of their office, by
workload; a declaration that went green (an override) or was cancelled leaves it."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.db import utcnow
from routing_svc.lanes.models import LaneDecision
from routing_svc.officers import repository
from routing_svc.officers.models import Assignment

_NEEDS_OFFICER = frozenset({"yellow", "red"})


async def on_decision(session: AsyncSession, decision: LaneDecision) -> None:
    # The first decision of a declaration's first version: nothing can be assigned yet.
    first = decision.version == 1 and decision.revision == 1
    current = (
        None if first else await repository.assignment(session, decision.declaration_id, lock=True)
    )
    if decision.lane not in _NEEDS_OFFICER:
        if current is not None and current.closed_at is None:
            current.closed_at = utcnow()
        return
    if current is not None and current.closed_at is None and current.officer is not None:
        # Same officer keeps it when its lane or version changes: they know the file.
        current.lane = decision.lane
        current.version = decision.version
        return
    officer = await repository.least_loaded_officer(session, decision.office)
    if current is None:
        session.add(
            Assignment(
                declaration_id=decision.declaration_id,
                version=decision.version,
                tenant=decision.tenant,
                office=decision.office,
                lane=decision.lane,
                officer=officer,
                assigned_at=utcnow(),
            )
        )
        return
    current.version = decision.version
    current.lane = decision.lane
    current.office = decision.office
    current.officer = officer
    current.assigned_at = utcnow()
    current.closed_at = None


async def close(session: AsyncSession, declaration_id: uuid.UUID) -> None:
    current = await repository.assignment(session, declaration_id, lock=True)
    if current is not None and current.closed_at is None:
        current.closed_at = utcnow()


# Bounded per call: a large backlog is taken up over several registrations or passes.
_REBALANCE_LIMIT = 500


async def hand_over(session: AsyncSession, officer: str) -> int:
    """The officer's open work goes to the on-duty officers of each assignment's office
    by workload (or to nobody, until one comes on duty)."""
    moved = 0
    for row in await repository.open_of_officer(session, officer, limit=_REBALANCE_LIMIT):
        row.officer = await repository.least_loaded_officer(session, row.office)
        await session.flush()  # the next pick counts this one
        moved += 1
    return moved


async def take_up_unowned(session: AsyncSession, office: str) -> int:
    """Open work of ``office`` that no officer had is shared out by workload."""
    taken = 0
    for row in await repository.unowned(session, office, limit=_REBALANCE_LIMIT):
        row.officer = await repository.least_loaded_officer(session, office)
        if row.officer is None:
            break
        await session.flush()
        taken += 1
    return taken
