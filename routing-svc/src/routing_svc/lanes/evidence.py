"""Gathers what the rules see about one declaration version: its facts and screening
results (from the case), the risk inputs that concern it and the intelligence in force."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.db import per_transaction
from customs_shared.events.schemas import (
    DeclarationSubmitted,
    IprHit,
    IprOutcome,
    OriginCertificate,
    RadiationAlarm,
    RiskAlert,
    SignatureStatus,
)
from routing_svc.intelligence import repository as intelligence
from routing_svc.lanes.models import RoutingCase
from routing_svc.risk import repository as risk
from routing_svc.rules.inputs import Evidence, RiskListEntry, TraderProfile


def _wanted_inputs(facts: DeclarationSubmitted) -> set[tuple[str, str]]:
    wanted: set[tuple[str, str]] = set()
    if facts.declarant_tax_code:
        wanted.add((risk.TRADER, facts.declarant_tax_code))
    if facts.export_country:
        wanted.add((risk.COUNTRY, facts.export_country))
    for item in facts.items:
        wanted.add((risk.COUNTRY, item.origin_country))
        for code in (item.hs_code, item.hs_code[:6], item.hs_code[:4]):
            wanted.add((risk.HS, code))
        for code in (item.hs_code, item.hs_code[:6]):
            key = risk.reference_price_key(code, item.origin_country, item.unit)
            wanted.add((risk.REFERENCE_PRICE, key))
    return wanted


# Facts parsed once per transaction, by declaration and version (a version's facts
# never change): by the prefetch, then by the decision.
_FACTS = "routing_facts"


def _claims(facts: DeclarationSubmitted) -> list[str]:
    return [i.preferential_origin.certificate_number for i in facts.items if i.preferential_origin]


async def prefetch(
    session: AsyncSession,
    cases: Iterable[RoutingCase],
    submitted: Iterable[DeclarationSubmitted],
    *,
    now: datetime,
) -> None:
    """Before a batch's decisions: loads what the rules may need about any of ``cases``
    (the risk inputs, radiation alarms and origin certificates), one query each instead
    of three per decision. ``submitted``: facts the batch brings, of cases that have
    none yet."""
    known = _known_facts(session)
    for data in submitted:
        known[(data.declaration_id, data.version)] = data
    wanted: set[tuple[str, str]] = set()
    containers: set[str] = set()
    claims: set[str] = set()
    for case in cases:
        facts = _facts(session, case)
        if facts is None:
            continue
        wanted |= _wanted_inputs(facts)
        containers.update(facts.containers)
        claims.update(_claims(facts))
    await risk.prefetch(session, wanted)
    await intelligence.prefetch(session, containers=containers, references=claims, at=now)


def _known_facts(session: AsyncSession) -> dict[tuple[object, int], DeclarationSubmitted]:
    known: dict[tuple[object, int], DeclarationSubmitted]
    known = per_transaction(session).setdefault(_FACTS, {})
    return known


def _facts(session: AsyncSession, case: RoutingCase) -> DeclarationSubmitted | None:
    known = _known_facts(session)
    key = (case.declaration_id, case.version)
    facts = known.get(key)
    if facts is None and case.facts is not None:
        facts = known[key] = DeclarationSubmitted.model_validate(case.facts)
    return facts


async def gather(
    session: AsyncSession, case: RoutingCase, *, now: datetime, timed_out: bool
) -> Evidence:
    facts = _facts(session, case)
    assert facts is not None
    trader: TraderProfile | None = None
    countries: dict[str, RiskListEntry] = {}
    codes: dict[str, RiskListEntry] = {}
    prices: dict[tuple[str, str, str], Decimal] = {}
    for row in await risk.lookup(session, _wanted_inputs(facts)):
        value = row.value
        if row.kind == risk.TRADER:
            trader = TraderProfile(
                row.key,
                str(value["compliance_level"]),
                bool(value.get("priority", False)),
                int(value.get("past_violations", 0)),
            )
        elif row.kind in (risk.COUNTRY, risk.HS):
            entry = RiskListEntry(row.key, str(value["level"]), str(value.get("reason", "")))
            (countries if row.kind == risk.COUNTRY else codes)[row.key] = entry
        elif row.kind == risk.REFERENCE_PRICE:
            hs_code, origin, unit = row.key.split("/")
            prices[(hs_code, origin, unit)] = Decimal(str(value["unit_price_vnd"]))
    claims = _claims(facts)
    alarms = await intelligence.alarms_on(session, facts.containers, now)
    alerts = await intelligence.alerts_in_force(session, now)
    certificates = await intelligence.certificates(session, claims)
    return Evidence(
        facts=facts,
        signature=SignatureStatus(case.signature_status) if case.signature_status else None,
        ipr=IprOutcome(case.ipr_outcome) if case.ipr_outcome else None,
        ipr_hits=[IprHit.model_validate(h) for h in case.ipr_hits],
        ipr_suspended=case.ipr_suspended,
        timed_out=timed_out,
        trader=trader,
        country_risks=countries,
        hs_risks=codes,
        reference_prices=prices,
        radiation_alarms=[RadiationAlarm.model_validate(a.data) for a in alarms],
        risk_alerts=[RiskAlert.model_validate(a.data) for a in alerts],
        origin_certificates={
            c.reference: OriginCertificate.model_validate(c.data) for c in certificates
        },
    )
