"""Routing: gather screening results per declaration, decide its lane by the active rule
set once they are in (or at the deadline), and decide again when something arrives that
raises it: intelligence, a suspension of release."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.auth import Principal
from customs_shared.db import utcnow
from customs_shared.events import catalog
from customs_shared.events.schemas import (
    DeclarationCancelled,
    DeclarationStatusChanged,
    DeclarationSubmitted,
    IprScreened,
    IprSuspensionChanged,
    Lane,
    LaneAssigned,
    LaneReason,
    ScreeningForwarded,
    SignatureChecked,
    SignatureStatus,
)
from customs_shared.messaging.outbox import add_event
from routing_svc.intelligence import repository as intelligence
from routing_svc.lanes import evidence, repository
from routing_svc.lanes.errors import DecisionNotFound
from routing_svc.lanes.metrics import observe_decision
from routing_svc.lanes.models import LaneDecision, RoutingCase
from routing_svc.lanes.repository import LaneDecisionRepository
from routing_svc.officers import assignment
from routing_svc.rules import engine, inputs
from routing_svc.rules.active import ActiveRuleSet
from routing_svc.settings import RoutingSettings

SOURCE = "/customs/routing-svc"
# Lane events get ids derived from the declaration, version and revision, so any
# re-publication is recognisably the same event to every consumer.
_LANE_EVENT_NAMESPACE = uuid.UUID("6f1d2a4e-3c55-4f0b-9a1e-7c2f8d9b0e11")
# Suspension states under which the goods stay held.
_HOLDING = frozenset({"suspended", "confirmed"})
# Officers' decisions after which a lane never changes again.
_CLOSING = frozenset({"RELEASED", "REJECTED"})


@dataclass(frozen=True, slots=True)
class LanePolicy:
    """What deciding a lane depends on besides the events: the rule sets, how long to wait
    for a screening result, the outcome chosen for an invalid signature, and the secret
    seed of random selection."""

    rule_sets: ActiveRuleSet
    screening_timeout: timedelta
    reject_invalid_signature: bool
    selection_seed: bytes

    @classmethod
    def from_settings(cls, settings: RoutingSettings) -> LanePolicy:
        return cls(
            ActiveRuleSet(),
            timedelta(seconds=settings.screening_timeout_seconds),
            settings.invalid_signature_outcome == "reject",
            settings.random_selection_seed.get_secret_value().encode(),
        )


class _AboutDeclaration(Protocol):
    @property
    def declaration_id(self) -> uuid.UUID: ...
    @property
    def tenant(self) -> str: ...


async def lock_cases(session: AsyncSession, events: Sequence[_AboutDeclaration]) -> None:
    """Before a batch's handlers: creates and locks the cases of all its declarations in one
    statement, so that each handler finds its case without a round trip; then loads the
    evidence of those the batch will likely decide, for all of them at once."""
    await repository.lock_or_create_cases(session, ((e.declaration_id, e.tenant) for e in events))
    submitted = [e for e in events if isinstance(e, DeclarationSubmitted)]
    deciding = _likely_decided(session, events)
    if deciding:
        await evidence.prefetch(session, deciding, submitted, now=utcnow())


def _likely_decided(
    session: AsyncSession, events: Sequence[_AboutDeclaration]
) -> list[RoutingCase]:
    """The cases that have, or get in this batch, their facts and both screenings (and
    so will be decided by it, unless a newer version or a cancellation comes between)."""
    brought: dict[uuid.UUID, set[type]] = {}
    for event in events:
        brought.setdefault(event.declaration_id, set()).add(type(event))
    deciding = []
    for declaration_id, kinds in brought.items():
        case = repository.held_case(session, declaration_id)
        if case is None or case.decided_at is not None:
            continue
        if (
            (case.facts is not None or DeclarationSubmitted in kinds)
            and (case.signature_status is not None or SignatureChecked in kinds)
            and (case.ipr_outcome is not None or IprScreened in kinds)
        ):
            deciding.append(case)
    return deciding


async def on_submitted(
    session: AsyncSession, data: DeclarationSubmitted, *, policy: LanePolicy
) -> None:
    """The facts of a declaration's version: a submission, or an amendment, whose new
    version is screened and decided again from scratch."""
    case = await repository.lock_or_create_case(session, data.declaration_id, data.tenant)
    if not _at_version(case, data.version):
        return
    if case.facts is None:
        # Not the CMS signature: signature-svc verifies it; here it would only weigh on
        # every case row and every read of facts (intelligence scans thousands).
        case.facts = data.model_dump(mode="json", exclude={"signature_cms"})
        case.deadline_at = utcnow() + policy.screening_timeout
        intelligence.remember_containers(session, data.declaration_id, data.containers)
    await _decide_when_screened(session, case, policy, deadline_passed=False)


async def on_signature(
    session: AsyncSession, data: SignatureChecked, *, policy: LanePolicy
) -> None:
    case = await repository.lock_or_create_case(session, data.declaration_id, data.tenant)
    if not _at_version(case, data.version):
        return
    result = data.model_dump(mode="json")
    if result == case.signature_result:
        return  # the same result again (a redelivery): nothing to decide or pass on
    case.signature_status = data.status
    case.signature_result = result
    if _no_first_lane_to_come(case):
        _forward(session, case, signature=data)
        return
    await _decide_when_screened(session, case, policy, deadline_passed=False)


async def on_ipr(session: AsyncSession, data: IprScreened, *, policy: LanePolicy) -> None:
    case = await repository.lock_or_create_case(session, data.declaration_id, data.tenant)
    if not _at_version(case, data.version):
        return
    result = data.model_dump(mode="json")
    if result == case.ipr_result:
        return  # the same result again (a redelivery): nothing to decide or pass on
    case.ipr_outcome = data.outcome
    case.ipr_hits = result["hits"]
    case.ipr_result = result
    if _no_first_lane_to_come(case):
        _forward(session, case, ipr=data)
        return
    await _decide_when_screened(session, case, policy, deadline_passed=False)


async def on_ipr_suspension(
    session: AsyncSession, data: IprSuspensionChanged, *, policy: LanePolicy
) -> None:
    """Goods held on a right holder's request go red and stay so while suspended."""
    case = await repository.locked_case(session, data.declaration_id)
    if case is None:
        return  # not a declaration routing has seen
    held = data.status in _HOLDING
    if case.ipr_suspended == held:
        return
    case.ipr_suspended = held
    if held:
        await redecide(session, case, policy)


async def on_cancelled(session: AsyncSession, data: DeclarationCancelled) -> None:
    """A cancelled declaration gets no lane; a pending case is closed."""
    case = await repository.lock_or_create_case(session, data.declaration_id, data.tenant)
    if case.cancelled_at is None:
        _forward_if_undecided(session, case)
        case.cancelled_at = data.cancelled_at
        case.deadline_at = None  # nothing is overdue on it any more
        await assignment.close(session, data.declaration_id)


async def on_status_changed(session: AsyncSession, data: DeclarationStatusChanged) -> None:
    """An officer released or rejected the declaration: its lane is final, and it leaves
    the officers' queues."""
    if data.status not in _CLOSING:
        return
    case = await repository.locked_case(session, data.declaration_id)
    if case is None or case.closed_at is not None:
        return
    if case.cancelled_at is None:
        _forward_if_undecided(session, case)
    case.closed_status = data.status
    case.closed_at = data.changed_at
    case.deadline_at = None
    await assignment.close(session, data.declaration_id)


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
        case.signature_result = None
        case.ipr_result = None
        case.deadline_at = None
        case.decided_at = None
    return True


def _no_first_lane_to_come(case: RoutingCase) -> bool:
    """True when no first lane event of the case's version is still to come to carry a
    result: it is out, or the case was cancelled or closed."""
    return (
        case.decided_at is not None or case.cancelled_at is not None or case.closed_at is not None
    )


def _results(case: RoutingCase) -> tuple[SignatureChecked | None, IprScreened | None]:
    signature, ipr = case.signature_result, case.ipr_result
    return (
        None if signature is None else SignatureChecked.model_validate(signature),
        None if ipr is None else IprScreened.model_validate(ipr),
    )


def _forward_if_undecided(session: AsyncSession, case: RoutingCase) -> None:
    """The case will get no lane: what it received so far is forwarded instead."""
    if case.decided_at is not None:
        return
    signature, ipr = _results(case)
    if signature is not None or ipr is not None:
        _forward(session, case, signature=signature, ipr=ipr)


def _forward(
    session: AsyncSession,
    case: RoutingCase,
    *,
    signature: SignatureChecked | None = None,
    ipr: IprScreened | None = None,
) -> None:
    """Results no lane event carries, passed on to declaration-svc, which reads screening
    results only from routing's topic."""
    forwarded = ScreeningForwarded(
        declaration_id=case.declaration_id,
        version=case.version,
        tenant=case.tenant,
        signature=signature,
        ipr=ipr,
    )
    add_event(
        session,
        catalog.SCREENING_FORWARDED,
        source=SOURCE,
        key=str(case.declaration_id),
        data=forwarded,
    )


async def decide_overdue(session: AsyncSession, *, policy: LanePolicy, limit: int = 100) -> int:
    """Decides cases whose screenings did not all arrive before the deadline."""
    cases = await repository.overdue_cases(session, utcnow(), limit)
    for case in cases:
        await _decide_when_screened(session, case, policy, deadline_passed=True)
    return len(cases)


def lane_event_id(declaration_id: uuid.UUID, version: int, revision: int) -> uuid.UUID:
    name = str(declaration_id) if version == 1 else f"{declaration_id}/v{version}"
    return uuid.uuid5(_LANE_EVENT_NAMESPACE, name if revision == 1 else f"{name}/r{revision}")


async def _decide_when_screened(
    session: AsyncSession, case: RoutingCase, policy: LanePolicy, *, deadline_passed: bool
) -> None:
    """Decides once both screenings are in, or at the deadline with what there is."""
    if case.decided_at is not None or case.facts is None or case.cancelled_at is not None:
        return
    if case.closed_at is not None:
        return
    complete = case.signature_status is not None and case.ipr_outcome is not None
    if not (complete or deadline_passed):
        return
    now = utcnow()
    verdict, values, rule_set = await _evaluate(session, case, policy, now, not complete)
    case.decided_at = now
    decision = LaneDecision(
        declaration_id=case.declaration_id,
        version=case.version,
        tenant=case.tenant,
        revision=1,
        office=str(values["declaration"]["office"]),
        submitted_at=_submitted_at(case),
        lane=verdict.lane,
        rules_lane=verdict.lane,
        rejected=policy.reject_invalid_signature
        and case.signature_status == SignatureStatus.INVALID,
        reasons=[r.model_dump(mode="json") for r in verdict.reasons],
        rule_set_version=rule_set.version,
        inputs=_summary(values),
        score=verdict.score,
        screening_complete=complete,
        randomly_selected=verdict.randomly_selected,
        overridden=False,
        rule_errors=[{"rule": e.rule, "error": e.error} for e in verdict.errors],
        evidence=_stored(values),
        decided_at=now,
    )
    signature, ipr = _results(case)
    await publish(session, decision, signature=signature, ipr=ipr)
    observe_decision(decision, verdict)


async def redecide(session: AsyncSession, case: RoutingCase, policy: LanePolicy) -> bool:
    """Decides a laned case again with what is known now; the new decision replaces the
    current one only when it raises the lane. True when it did."""
    if case.decided_at is None or case.facts is None or case.cancelled_at is not None:
        return False
    if case.closed_at is not None:  # released or rejected: too late to change its lane
        return False
    current = await repository.current_decision(session, case.declaration_id, lock=True)
    if current is None or current.version != case.version:
        return False
    now = utcnow()
    complete = case.signature_status is not None and case.ipr_outcome is not None
    verdict, values, rule_set = await _evaluate(session, case, policy, now, not complete)
    if engine.SEVERITY[verdict.lane] <= engine.SEVERITY[Lane(current.lane)]:
        return False
    current.revision += 1
    current.lane = verdict.lane
    current.rules_lane = verdict.lane
    current.reasons = [r.model_dump(mode="json") for r in verdict.reasons]
    current.rule_set_version = rule_set.version
    current.inputs = _summary(values)
    current.score = verdict.score
    current.randomly_selected = verdict.randomly_selected
    current.rule_errors = [{"rule": e.rule, "error": e.error} for e in verdict.errors]
    current.evidence = _stored(values)
    current.decided_at = now
    await publish(session, current)
    return True


async def publish(
    session: AsyncSession,
    decision: LaneDecision,
    *,
    signature: SignatureChecked | None = None,
    ipr: IprScreened | None = None,
) -> None:
    """Stores ``decision`` as the current one, queues its event and (re)assigns it to an
    officer of its office when it needs one. A version's first decision carries the
    screening results it was decided on."""
    await repository.store_decision(session, decision)
    assigned = LaneAssigned(
        declaration_id=decision.declaration_id,
        version=decision.version,
        tenant=decision.tenant,
        lane=Lane(decision.lane),
        rejected=decision.rejected,
        reasons=[LaneReason.model_validate(r) for r in decision.reasons],
        rule_set_version=decision.rule_set_version,
        inputs=decision.inputs,
        score=decision.score,
        screening_complete=decision.screening_complete,
        revision=decision.revision,
        decided_at=decision.decided_at,
        signature=signature,
        ipr=ipr,
    )
    add_event(
        session,
        catalog.LANE_ASSIGNED,
        source=SOURCE,
        key=str(decision.declaration_id),
        event_id=lane_event_id(decision.declaration_id, decision.version, decision.revision),
        data=assigned,
    )
    await assignment.on_decision(session, decision)


async def _evaluate(
    session: AsyncSession, case: RoutingCase, policy: LanePolicy, now: datetime, timed_out: bool
) -> tuple[engine.Verdict, dict[str, Any], engine.CompiledRuleSet]:
    rule_set = await policy.rule_sets.current(session)
    gathered = await evidence.gather(session, case, now=now, timed_out=timed_out)
    values = inputs.build(gathered, now)
    verdict = engine.evaluate(
        rule_set,
        values,
        now=now,
        draw=engine.random_draw(case.declaration_id, policy.selection_seed),
        office=gathered.facts.customs_office,
    )
    return verdict, values, rule_set


def _submitted_at(case: RoutingCase) -> datetime | None:
    assert case.facts is not None
    return datetime.fromisoformat(str(case.facts["submitted_at"]))


def _stored(values: dict[str, Any]) -> dict[str, Any]:
    """The input as JSON; ``now`` is the decision time, stored beside it."""
    return {k: v for k, v in values.items() if k != "now"}


def _summary(values: dict[str, Any]) -> dict[str, str]:
    """A few headline inputs, for the event and a quick look; the rest is in ``evidence``."""
    declaration, screening, trader = values["declaration"], values["screening"], values["trader"]
    value_vnd = declaration.get("value_vnd")
    return {
        "signature": str(screening["signature"]),
        "ipr": str(screening["ipr"]),
        "declarant_kind": str(declaration["declarant_kind"]),
        "total_customs_value": f"{declaration['value']} {declaration['currency']}",
        "total_customs_value_vnd": "unknown" if value_vnd is None else f"{value_vnd:.0f}",
        "items": str(declaration["item_count"]),
        "trader_compliance": str(trader["compliance_level"]),
        "containers": ",".join(declaration.get("containers", [])),
    }


async def get_decision(
    *, session: AsyncSession, principal: Principal, declaration_id: uuid.UUID
) -> LaneDecision:
    return await LaneDecisionRepository(session).get_visible_or_404(
        declaration_id,
        principal,
        DecisionNotFound(f"No lane decided yet for declaration {declaration_id}."),
    )
