"""Partner intelligence: keep what partner agencies send, and re-decide the laned
declarations it concerns. A re-decision replaces the current lane only when it rises
(``lanes.service.redecide``), so intelligence raises lanes and never lowers them; an
officer's override is the only way down. Declarations not yet decided need nothing
here: their decision reads the intelligence in force (``lanes.evidence.gather``).

- A radiation alarm re-decides every open declaration carrying its container.
- A risk alert re-decides the recently decided declarations it matches (trader, HS
  heading, container, route): on arrival when its window is open, otherwise when it opens
  (``open_alert_windows``, a periodic sweep).
- An issued e-C/O only counts for decisions still to come (a first decision, an
  amended version): a lane already decided is never lowered by it. Its revocation
  re-decides the recently decided declarations claiming it, which then go yellow.

Each event's work is one transaction, bounded by ``IntelligencePolicy``: at most
``max_redecisions`` declarations re-decided (each is a rule evaluation, a few queries and,
when the lane rises, a lane event and an officer's assignment: measured 6 ms raised, 1 ms
unchanged, so the default 500 keep one transaction, and the locks it holds, near 3 s),
and an alert or a revocation matched against at most
``max_candidates`` declarations decided within ``lookback``. Anything beyond a bound is
logged; the alarm or alert still reaches later decisions.

Cases are locked in declaration-id order. An alarm also locks the undecided cases
carrying its container, so a decision in flight is waited for and then re-decided; only
a first submission deciding at the very moment an alarm arrives, on another replica, can
miss it (the container's row is not yet committed)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.db import utcnow
from customs_shared.events.schemas import (
    CertificateStatus,
    DeclarationSubmitted,
    OriginCertificate,
    RadiationAlarm,
    RiskAlert,
)
from routing_svc.intelligence import reporting, repository
from routing_svc.lanes import repository as lanes_repository
from routing_svc.lanes.service import LanePolicy, redecide
from routing_svc.rules.inputs import alarm_valid_until, matching_alert_targets
from routing_svc.settings import RoutingSettings

log = logging.getLogger(__name__)

REDECISIONS = Counter(
    "routing_intelligence_redecisions_total",
    "Laned declarations re-decided on partner intelligence, by what caused it and whether "
    "the lane rose.",
    ["cause", "raised"],
)

# Alarms get ids from what identifies the reading itself, so the same alarm sent twice
# (two CloudEvent ids, or two agencies relaying one monitor) is kept once.
_ALARM_NAMESPACE = uuid.UUID("0b7f6c1e-5a3d-4c2e-8f61-2d9e4b7a1c35")


@dataclass(frozen=True, slots=True)
class IntelligencePolicy:
    lanes: LanePolicy
    lookback: timedelta
    max_redecisions: int
    max_candidates: int

    @classmethod
    def from_settings(cls, settings: RoutingSettings, lanes: LanePolicy) -> IntelligencePolicy:
        return cls(
            lanes,
            timedelta(days=settings.intelligence_lookback_days),
            settings.intelligence_max_redecisions,
            settings.intelligence_max_candidates,
        )


def alarm_id(alarm: RadiationAlarm) -> uuid.UUID:
    detected = alarm.detected_at.astimezone(UTC).isoformat()
    name = f"{alarm.container_number}/{alarm.port}/{alarm.monitor_id}/{detected}"
    return uuid.uuid5(_ALARM_NAMESPACE, name)


async def on_radiation_alarm(
    session: AsyncSession, data: RadiationAlarm, *, policy: IntelligencePolicy
) -> None:
    """Sends every open declaration carrying the container to red while the alarm is in
    force; later ones see the alarm when they are decided."""
    valid_until = alarm_valid_until(data)
    if not await repository.store_alarm(session, alarm_id(data), data, valid_until):
        # The same alarm again: the declarations were re-decided with it.
        reporting.report(session, "duplicate", detail="the same reading arrived before")
        return
    now = utcnow()
    if valid_until <= now:
        # Over before it arrived: kept on record, it concerns no decision.
        reporting.report(session, "expired", detail=f"valid until {valid_until.isoformat()}")
        return
    cases = await repository.cases_carrying(
        session,
        data.container_number,
        since=now - policy.lookback,
        limit=policy.max_redecisions,
    )
    raised = [case.declaration_id for case in cases if await redecide(session, case, policy.lanes)]
    _report("radiation alarm", data.container_number, len(cases), raised, policy)
    reporting.report(
        session,
        "applied",
        checked=len(cases),
        raised=len(raised),
        detail=f"container {data.container_number}: red until {valid_until.isoformat()}",
    )


async def on_risk_alert(
    session: AsyncSession, data: RiskAlert, *, policy: IntelligencePolicy
) -> None:
    """Keeps the alert's newest state and, when it is in force, re-decides the recently
    decided declarations it matches (otherwise the sweep does when its window opens). A
    redelivery re-decides nothing new: a lane already raised by it does not rise again."""
    now = utcnow()
    in_force = data.valid_from <= now < data.valid_until
    await repository.store_alert(session, data, activated_at=now if in_force else None)
    if in_force:
        checked, raised = await _redecide_alerted(session, data, policy)
        reporting.report(session, "applied", checked=checked, raised=raised)
    elif data.valid_until <= now:
        reporting.report(session, "expired", detail=f"valid until {data.valid_until.isoformat()}")
    else:
        reporting.report(
            session, "scheduled", detail=f"in force from {data.valid_from.isoformat()}"
        )


async def open_alert_windows(
    session: AsyncSession, *, policy: IntelligencePolicy, limit: int = 10
) -> int:
    """Re-decides for the alerts whose window opened since they arrived (the sweep);
    a few per pass, each pass one transaction."""
    now = utcnow()
    records = await repository.alerts_opening(session, now, limit)
    for record in records:
        record.activated_at = now
        await _redecide_alerted(session, RiskAlert.model_validate(record.data), policy)
    return len(records)


async def _redecide_alerted(
    session: AsyncSession, alert: RiskAlert, policy: IntelligencePolicy
) -> tuple[int, int]:
    def targeted(facts: DeclarationSubmitted) -> bool:
        return bool(matching_alert_targets(alert, facts))

    return await _redecide_matching(session, "risk alert", alert.alert_id, policy, targeted)


async def on_origin_certificate(
    session: AsyncSession, data: OriginCertificate, *, policy: IntelligencePolicy
) -> None:
    """Keeps the certificate's newest state. An issued one serves decisions still to
    come; a revocation re-decides the recently decided declarations claiming it."""
    changed = await repository.store_certificate(session, data)
    if not changed:
        reporting.report(session, "duplicate", detail="this state or a newer one is known")
        return
    if data.status is not CertificateStatus.REVOKED:
        reporting.report(session, "stored", detail="serves the declarations decided from now")
        return

    def claims(facts: DeclarationSubmitted) -> bool:
        return any(
            item.preferential_origin is not None
            and item.preferential_origin.certificate_number == data.reference
            for item in facts.items
        )

    checked, raised = await _redecide_matching(
        session, "revoked certificate", data.reference, policy, claims
    )
    reporting.report(session, "applied", checked=checked, raised=raised)


async def _redecide_matching(
    session: AsyncSession,
    kind: str,
    name: str,
    policy: IntelligencePolicy,
    concerns: Callable[[DeclarationSubmitted], bool],
) -> tuple[int, int]:
    """Re-decides the recent declarations ``concerns`` picks: (how many, how many rose)."""
    candidates = await repository.recently_decided(
        session, since=utcnow() - policy.lookback, limit=policy.max_candidates
    )
    if len(candidates) == policy.max_candidates:
        log.warning(
            "%s %s matched against the newest %d decided declarations only",
            kind,
            name,
            len(candidates),
        )
    matched = [
        declaration_id
        for declaration_id, facts in candidates
        if concerns(DeclarationSubmitted.model_validate(facts))
    ][: policy.max_redecisions]
    raised: list[uuid.UUID] = []
    for declaration_id in sorted(matched):  # one lock order: no deadlock between events
        case = await lanes_repository.locked_case(session, declaration_id)
        if case is not None and await redecide(session, case, policy.lanes):
            raised.append(declaration_id)
    _report(kind, name, len(matched), raised, policy)
    return len(matched), len(raised)


def _report(
    kind: str, name: str, found: int, raised: Sequence[uuid.UUID], policy: IntelligencePolicy
) -> None:
    REDECISIONS.labels(kind, "true").inc(len(raised))
    REDECISIONS.labels(kind, "false").inc(found - len(raised))
    if found >= policy.max_redecisions:
        log.warning(
            "%s %s concerns more than %d declarations; the rest keep their lane",
            kind,
            name,
            policy.max_redecisions,
        )
    log.info(
        "%s %s re-decided %d declarations, raised %d",
        kind,
        name,
        found,
        len(raised),
        extra={"raised": [str(d) for d in raised]},
    )
