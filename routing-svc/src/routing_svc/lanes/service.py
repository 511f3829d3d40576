"""Routing: gather screening results per declaration, then decide its lane once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.auth import Principal
from customs_shared.db import utcnow
from customs_shared.events import catalog
from customs_shared.events.schemas import (
    DeclarationCancelled,
    DeclarationSubmitted,
    IprHit,
    IprOutcome,
    IprScreened,
    LaneAssigned,
    SignatureChecked,
    SignatureStatus,
)
from customs_shared.messaging.outbox import add_event
from routing_svc.lanes import repository, rules
from routing_svc.lanes.errors import DecisionNotFound
from routing_svc.lanes.models import LaneDecision, RoutingCase
from routing_svc.lanes.repository import LaneDecisionRepository
from routing_svc.settings import RoutingSettings

SOURCE = "/customs/routing-svc"
# Lane events get ids derived from the declaration, so any re-publication is
# recognisably the same event to every consumer.
_LANE_EVENT_NAMESPACE = uuid.UUID("6f1d2a4e-3c55-4f0b-9a1e-7c2f8d9b0e11")


@dataclass(frozen=True, slots=True)
class LanePolicy:
    """What deciding a lane depends on besides the events: the rules' settings and
    how long to wait for a screening result before deciding without it."""

    rule_settings: rules.RuleSettings
    screening_timeout: timedelta

    @classmethod
    def from_settings(cls, settings: RoutingSettings) -> LanePolicy:
        return cls(
            rules.RuleSettings(
                high_value_threshold=settings.high_value_threshold,
                reject_invalid_signature=settings.invalid_signature_outcome == "reject",
            ),
            timedelta(seconds=settings.screening_timeout_seconds),
        )


async def on_submitted(
    session: AsyncSession, data: DeclarationSubmitted, *, policy: LanePolicy
) -> None:
    """The facts of a declaration's version: a submission, or an amendment, whose new
    version is screened and decided again from scratch."""
    case = await repository.lock_or_create_case(session, data.declaration_id, data.tenant)
    if not _at_version(case, data.version):
        return
    if case.facts is None:
        case.facts = data.model_dump(mode="json")
        case.deadline_at = utcnow() + policy.screening_timeout
    await _decide_when_screened(session, case, policy, deadline_passed=False)


async def on_signature(
    session: AsyncSession, data: SignatureChecked, *, policy: LanePolicy
) -> None:
    case = await repository.lock_or_create_case(session, data.declaration_id, data.tenant)
    if not _at_version(case, data.version):
        return
    case.signature_status = data.status
    await _decide_when_screened(session, case, policy, deadline_passed=False)


async def on_ipr(session: AsyncSession, data: IprScreened, *, policy: LanePolicy) -> None:
    case = await repository.lock_or_create_case(session, data.declaration_id, data.tenant)
    if not _at_version(case, data.version):
        return
    case.ipr_outcome = data.outcome
    case.ipr_hits = [h.model_dump(mode="json") for h in data.hits]
    await _decide_when_screened(session, case, policy, deadline_passed=False)


async def on_cancelled(session: AsyncSession, data: DeclarationCancelled) -> None:
    """A cancelled declaration gets no lane; a pending case is closed."""
    case = await repository.lock_or_create_case(session, data.declaration_id, data.tenant)
    if case.cancelled_at is None:
        case.cancelled_at = data.cancelled_at
        case.deadline_at = None  # nothing is overdue on it any more


def _at_version(case: RoutingCase, version: int) -> bool:
    """True when an event about ``version`` belongs to the case. A newer version (an
    amendment, or a result that overtook it) starts the case anew; an older one is stale."""
    if version < case.version:
        return False
    if version > case.version:
        case.version = version
        case.facts = None
        case.signature_status = None
        case.ipr_outcome = None
        case.ipr_hits = []
        case.deadline_at = None
        case.decided_at = None
    return True


async def decide_overdue(session: AsyncSession, *, policy: LanePolicy, limit: int = 100) -> int:
    """Decides cases whose screenings did not all arrive before the deadline."""
    cases = await repository.overdue_cases(session, utcnow(), limit)
    for case in cases:
        await _decide_when_screened(session, case, policy, deadline_passed=True)
    return len(cases)


def _lane_event_id(declaration_id: uuid.UUID, version: int) -> uuid.UUID:
    name = str(declaration_id) if version == 1 else f"{declaration_id}/v{version}"
    return uuid.uuid5(_LANE_EVENT_NAMESPACE, name)


async def _decide_when_screened(
    session: AsyncSession, case: RoutingCase, policy: LanePolicy, *, deadline_passed: bool
) -> None:
    """Decides once both screenings are in, or at the deadline with what there is."""
    if case.decided_at is not None or case.facts is None or case.cancelled_at is not None:
        return
    complete = case.signature_status is not None and case.ipr_outcome is not None
    if not (complete or deadline_passed):
        return
    verdict = rules.decide(
        rules.ScreenedDeclaration(
            facts=DeclarationSubmitted.model_validate(case.facts),
            signature=SignatureStatus(case.signature_status) if case.signature_status else None,
            ipr=IprOutcome(case.ipr_outcome) if case.ipr_outcome else None,
            ipr_hits=[IprHit.model_validate(h) for h in case.ipr_hits],
        ),
        policy.rule_settings,
    )
    assigned = LaneAssigned(
        **verdict.model_dump(),
        declaration_id=case.declaration_id,
        version=case.version,
        tenant=case.tenant,
        decided_at=utcnow(),
    )
    case.decided_at = assigned.decided_at
    await repository.store_decision(
        session,
        {
            "declaration_id": assigned.declaration_id,
            "version": assigned.version,
            "tenant": assigned.tenant,
            "lane": assigned.lane,
            "rejected": assigned.rejected,
            "reasons": [r.model_dump(mode="json") for r in assigned.reasons],
            "rule_set_version": assigned.rule_set_version,
            "inputs": assigned.inputs,
            "decided_at": assigned.decided_at,
        },
    )
    add_event(
        session,
        catalog.LANE_ASSIGNED,
        source=SOURCE,
        key=str(case.declaration_id),
        event_id=_lane_event_id(case.declaration_id, case.version),
        data=assigned,
    )


async def get_decision(
    *, session: AsyncSession, principal: Principal, declaration_id: uuid.UUID
) -> LaneDecision:
    return await LaneDecisionRepository(session).get_visible_or_404(
        declaration_id,
        principal,
        DecisionNotFound(f"No lane decided yet for declaration {declaration_id}."),
    )
