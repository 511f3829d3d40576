"""What officers do with routing's decisions: register for an office, work their queue,
override a lane with a reason, record what an inspection found."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.auth import Principal
from customs_shared.db import utcnow
from customs_shared.events.schemas import Lane, LaneReason
from customs_shared.pagination import CursorCodec, KeysetPosition
from customs_shared.repository import Page
from routing_svc.audit import repository as audit
from routing_svc.lanes import repository as lanes
from routing_svc.lanes.errors import DecisionNotFound
from routing_svc.lanes.metrics import INSPECTIONS, OVERRIDES
from routing_svc.lanes.models import LaneDecision
from routing_svc.lanes.service import publish
from routing_svc.officers import assignment, repository
from routing_svc.officers.errors import (
    InspectionAlreadyRecorded,
    InspectionNotApplicable,
    OverrideRefused,
)
from routing_svc.officers.models import Assignment, InspectionOutcome, LaneOverride, Officer
from routing_svc.rules.engine import NOT_RULES, OFFICER_OVERRIDE, RANDOM_SELECTION, SEVERITY

_INSPECTED = frozenset({Lane.YELLOW, Lane.RED})


def _subject(declaration_id: uuid.UUID) -> str:
    return f"declaration/{declaration_id}"


async def register(
    *, session: AsyncSession, principal: Principal, subject: str, office: str, on_duty: bool
) -> Officer:
    """Adds an officer to an office, moves them, or puts them on or off duty. An officer
    who leaves duty or the office hands their open work to the office's other on-duty
    officers (by workload); an officer coming on duty takes up work nobody had."""
    row = await repository.officer(session, subject)
    if row is None:
        row = Officer(subject=subject)
        session.add(row)
    leaving = row.office is not None and (row.office != office or not on_duty)
    row.office, row.on_duty, row.updated_at = office, on_duty, utcnow()
    await session.flush()  # the workload queries below must see the change
    if leaving:
        await assignment.hand_over(session, subject)
    if on_duty:
        await assignment.take_up_unowned(session, office)
    audit.record(
        session,
        principal,
        "officer.registered",
        f"officer/{subject}",
        {"office": office, "on_duty": on_duty},
    )
    return row


async def officers(
    *,
    session: AsyncSession,
    principal: Principal,
    office: str | None,
    limit: int,
    after: str | None = None,
) -> Page[Officer]:
    """By office, then subject."""
    return await repository.OfficerRepository(session).page_visible(
        principal,
        after=after,
        limit=limit,
        where=[] if office is None else [Officer.office == office],
    )


@dataclass(frozen=True, slots=True)
class QueueEntry:
    assignment: Assignment
    decision: LaneDecision

    def top_reasons(self, count: int) -> list[LaneReason]:
        reasons = [LaneReason.model_validate(r) for r in self.decision.reasons]
        reasons.sort(key=lambda r: SEVERITY[r.lane], reverse=True)  # stable: rule order kept
        return reasons[:count]


def _queue_scope(principal: Principal) -> str:
    return f"routing-queue\x1f{principal.subject}"


async def queue(
    *,
    session: AsyncSession,
    principal: Principal,
    cursors: CursorCodec,
    after: str | None,
    limit: int,
) -> tuple[list[QueueEntry], str | None]:
    """The caller's open assignments, oldest first. An officer no office knows yet has
    nothing assigned, so an empty queue (not an error)."""
    position = None if after is None else cursors.decode(after, scope=_queue_scope(principal))
    rows = await repository.queue(session, principal.subject, after=position, limit=limit + 1)
    entries = [QueueEntry(a, d) for a, d in rows[:limit]]
    if len(rows) <= limit:
        return entries, None
    last = entries[-1].assignment
    next_cursor = cursors.encode(
        KeysetPosition(last.assigned_at, last.declaration_id), scope=_queue_scope(principal)
    )
    return entries, next_cursor


async def _current(session: AsyncSession, declaration_id: uuid.UUID) -> LaneDecision:
    decision = await lanes.current_decision(session, declaration_id, lock=True)
    if decision is None:
        raise DecisionNotFound(f"No lane decided yet for declaration {declaration_id}.")
    return decision


async def override(
    *,
    session: AsyncSession,
    principal: Principal,
    declaration_id: uuid.UUID,
    lane: Lane,
    reason: str,
) -> tuple[LaneDecision, Lane]:
    """Changes the lane of the current decision on an officer's word: a new revision,
    published like any decision, so the declaration and the queue follow it. Returns
    the decision and the lane it had."""
    case = await lanes.locked_case(session, declaration_id)
    decision = await _current(session, declaration_id)
    previous = Lane(decision.lane)
    if case is not None and case.version != decision.version:
        raise OverrideRefused(
            f"Version {case.version} of the declaration is being decided; override its lane "
            "once it has one."
        )
    if decision.rejected:
        raise OverrideRefused("The declaration was rejected; it has no lane to change.")
    if lane == previous:
        raise OverrideRefused(f"The declaration is already in the {lane.value} lane.")
    if lane is Lane.GREEN and case is not None and case.ipr_suspended:
        raise OverrideRefused(
            "Release is suspended on a right holder's request (IPR); the declaration "
            "cannot go green while the suspension holds."
        )
    now = utcnow()
    session.add(
        LaneOverride(
            declaration_id=declaration_id,
            version=decision.version,
            from_lane=previous.value,
            to_lane=lane.value,
            reason=reason,
            officer=principal.subject,
            at=now,
        )
    )
    decision.lane = lane.value
    decision.overridden = True
    decision.revision += 1
    decision.decided_at = now
    override_reason = LaneReason(
        rule=OFFICER_OVERRIDE,
        lane=lane,
        explanation=reason,
        saw={"officer": principal.subject, "from_lane": previous.value},
    )
    decision.reasons = [*decision.reasons, override_reason.model_dump(mode="json")]
    audit.record(
        session,
        principal,
        "lane.overridden",
        _subject(declaration_id),
        {
            "version": decision.version,
            "revision": decision.revision,
            "from": previous.value,
            "to": lane.value,
            "reason": reason,
        },
    )
    await publish(session, decision)
    OVERRIDES.labels(previous.value, lane.value).inc()
    return decision, previous


async def record_inspection(
    *,
    session: AsyncSession,
    principal: Principal,
    declaration_id: uuid.UUID,
    found: bool,
    findings: str,
    seized: bool,
) -> tuple[InspectionOutcome, bool]:
    """Records what the check of the current decision's version found and closes the
    assignment. The same outcome sent again is answered with the stored one; a
    different one is refused. True when it is new."""
    decision = await _current(session, declaration_id)
    if Lane(decision.lane) not in _INSPECTED:
        raise InspectionNotApplicable(
            f"The declaration is in the {decision.lane} lane; only yellow and red ones are checked."
        )
    existing = await repository.inspection(session, declaration_id, decision.version)
    if existing is not None:
        if (existing.found, existing.findings, existing.seized) == (found, findings, seized):
            return existing, False
        raise InspectionAlreadyRecorded(
            f"An outcome for version {decision.version} was recorded by {existing.officer} "
            f"at {existing.recorded_at.isoformat()}."
        )
    fired = [r["rule"] for r in decision.reasons if r["rule"] not in NOT_RULES]
    outcome = InspectionOutcome(
        declaration_id=declaration_id,
        version=decision.version,
        office=decision.office,
        lane=decision.lane,
        found=found,
        findings=findings,
        seized=seized,
        rules_fired=fired,
        randomly_selected=decision.randomly_selected,
        officer=principal.subject,
        recorded_at=utcnow(),
    )
    session.add(outcome)
    await assignment.close(session, declaration_id)
    audit.record(
        session,
        principal,
        "inspection.recorded",
        _subject(declaration_id),
        {
            "version": decision.version,
            "lane": decision.lane,
            "found": found,
            "findings": findings,
            "seized": seized,
            "rules_fired": fired,
        },
    )
    for rule in fired:
        INSPECTIONS.labels(rule, str(found).lower()).inc()
    if decision.randomly_selected is not None:
        INSPECTIONS.labels(RANDOM_SELECTION, str(found).lower()).inc()
    return outcome, True
