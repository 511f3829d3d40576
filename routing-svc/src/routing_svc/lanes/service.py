"""Routing: gather screening results per declaration, then decide its lane once."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.auth import Principal, tenant_scope
from customs_shared.db import utcnow
from customs_shared.events import catalog
from customs_shared.events.schemas import (
    DeclarationSubmitted,
    IprHit,
    IprOutcome,
    IprScreened,
    LaneAssigned,
    SignatureChecked,
    SignatureStatus,
)
from customs_shared.messaging.outbox import add_event
from customs_shared.problems import NotFound
from routing_svc.lanes import repository, rules
from routing_svc.lanes.models import LaneDecision, RoutingCase

SOURCE = "/customs/routing-svc"
# Lane events get ids derived from the declaration, so any re-publication is
# recognisably the same event to every consumer.
_LANE_EVENT_NAMESPACE = uuid.UUID("6f1d2a4e-3c55-4f0b-9a1e-7c2f8d9b0e11")


class DecisionNotFound(NotFound):
    slug = "lane-decision-not-found"
    title = "Lane decision not found"


class Router:
    def __init__(self, policy: rules.Policy, screening_timeout: timedelta) -> None:
        self.policy = policy
        self.screening_timeout = screening_timeout

    async def on_submitted(self, session: AsyncSession, data: DeclarationSubmitted) -> None:
        case = await repository.lock_or_create_case(session, data.declaration_id, data.tenant)
        if case.facts is None:
            case.facts = data.model_dump(mode="json")
            case.deadline_at = utcnow() + self.screening_timeout
        self._decide_if_ready(session, case, final=False)

    async def on_signature(self, session: AsyncSession, data: SignatureChecked) -> None:
        case = await repository.lock_or_create_case(session, data.declaration_id, data.tenant)
        case.signature_status = data.status
        self._decide_if_ready(session, case, final=False)

    async def on_ipr(self, session: AsyncSession, data: IprScreened) -> None:
        case = await repository.lock_or_create_case(session, data.declaration_id, data.tenant)
        case.ipr_outcome = data.outcome
        case.ipr_hits = [h.model_dump(mode="json") for h in data.hits]
        self._decide_if_ready(session, case, final=False)

    async def decide_overdue(self, session: AsyncSession, limit: int = 100) -> int:
        """Decides cases whose screenings did not all arrive before the deadline."""
        cases = await repository.overdue_cases(session, utcnow(), limit)
        for case in cases:
            self._decide_if_ready(session, case, final=True)
        return len(cases)

    def _decide_if_ready(self, session: AsyncSession, case: RoutingCase, *, final: bool) -> None:
        if case.decided_at is not None or case.facts is None:
            return
        complete = case.signature_status is not None and case.ipr_outcome is not None
        if not (complete or final):
            return
        decision = rules.decide(
            rules.Inputs(
                facts=DeclarationSubmitted.model_validate(case.facts),
                signature=SignatureStatus(case.signature_status) if case.signature_status else None,
                ipr=IprOutcome(case.ipr_outcome) if case.ipr_outcome else None,
                ipr_hits=[IprHit.model_validate(h) for h in case.ipr_hits],
            ),
            self.policy,
        )
        now = utcnow()
        case.decided_at = now
        repository.add_decision(
            session,
            LaneDecision(
                declaration_id=case.declaration_id,
                tenant=case.tenant,
                lane=decision.lane,
                reasons=[r.model_dump(mode="json") for r in decision.reasons],
                rule_set_version=decision.rule_set_version,
                inputs=decision.inputs,
                decided_at=now,
            ),
        )
        add_event(
            session,
            catalog.LANE_ASSIGNED,
            source=SOURCE,
            key=str(case.declaration_id),
            event_id=uuid.uuid5(_LANE_EVENT_NAMESPACE, str(case.declaration_id)),
            data=LaneAssigned(
                declaration_id=case.declaration_id,
                tenant=case.tenant,
                lane=decision.lane,
                reasons=decision.reasons,
                rule_set_version=decision.rule_set_version,
                inputs=decision.inputs,
                decided_at=now,
            ),
        )


async def get_decision(
    *, session: AsyncSession, principal: Principal, declaration_id: uuid.UUID
) -> LaneDecision:
    decision = await repository.get_decision(session, declaration_id, tenant_scope(principal))
    if decision is None:
        raise DecisionNotFound(f"No lane decided yet for declaration {declaration_id}.")
    return decision
