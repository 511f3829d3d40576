"""Puts yellow and red declarations in the queue of an officer of their office, by
workload; a declaration that went green (an override) or was cancelled leaves it.

An office's workload is read once per transaction and kept up to date by the transaction's
own assignments, so a consumer's batch of decisions costs one query per office, and
spreads its declarations over the office's officers instead of giving them all to
whoever was least loaded before it."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.db import insert_values_at_commit, utcnow
from routing_svc.lanes.models import LaneDecision
from routing_svc.officers import repository
from routing_svc.officers.models import Assignment

_NEEDS_OFFICER = frozenset({"yellow", "red"})
# Per transaction (a session serves one): office -> on-duty officer -> open assignments.
_LOADS = "officer_loads"


async def _least_loaded(session: AsyncSession, office: str) -> str | None:
    """The on-duty officer of ``office`` with the fewest open assignments (then by name,
    so ties go the same way on every replica), counting this transaction's own; counted
    as given one more."""
    loads: dict[str, dict[str, int]] = session.info.setdefault(_LOADS, {})
    counts = loads.get(office)
    if counts is None:
        counts = loads[office] = dict(await repository.open_counts(session, office))
    if not counts:
        return None
    officer = min(counts, key=lambda subject: (counts[subject], subject))
    counts[officer] += 1
    return officer


def _closed(session: AsyncSession, current: Assignment) -> None:
    current.closed_at = utcnow()
    for counts in session.info.get(_LOADS, {}).values():
        if current.officer in counts:
            counts[current.officer] -= 1


async def on_decision(session: AsyncSession, decision: LaneDecision) -> None:
    # The first decision of a declaration's first version: nothing can be assigned yet.
    first = decision.version == 1 and decision.revision == 1
    current = (
        None if first else await repository.assignment(session, decision.declaration_id, lock=True)
    )
    if decision.lane not in _NEEDS_OFFICER:
        if current is not None and current.closed_at is None:
            _closed(session, current)
        return
    if current is not None and current.closed_at is None and current.officer is not None:
        # Same officer keeps it when its lane or version changes: they know the file.
        current.lane = decision.lane
        current.version = decision.version
        return
    officer = await _least_loaded(session, decision.office)
    if current is None:
        # With the commit's other new rows; repository.assignment writes it first.
        row = {
            "declaration_id": decision.declaration_id,
            "version": decision.version,
            "tenant": decision.tenant,
            "office": decision.office,
            "lane": decision.lane,
            "officer": officer,
            "assigned_at": utcnow(),
            "closed_at": None,
        }
        insert_values_at_commit(session, Assignment, [row])
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
        _closed(session, current)


# Bounded per call: a large backlog is taken up over several registrations or passes.
_REBALANCE_LIMIT = 500


async def hand_over(session: AsyncSession, officer: str) -> int:
    """The officer's open work goes to the on-duty officers of each assignment's office
    by workload (or to nobody, until one comes on duty)."""
    moved = 0
    for row in await repository.open_of_officer(session, officer, limit=_REBALANCE_LIMIT):
        row.officer = await _least_loaded(session, row.office)
        moved += 1
    await session.flush()  # the workload read next (another office's) must see the moves
    return moved


async def take_up_unowned(session: AsyncSession, office: str) -> int:
    """Open work of ``office`` that no officer had is shared out by workload."""
    taken = 0
    for row in await repository.unowned(session, office, limit=_REBALANCE_LIMIT):
        row.officer = await _least_loaded(session, office)
        if row.officer is None:
            break
        taken += 1
    return taken
