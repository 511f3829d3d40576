"""What a rule sees: the documented input (docs/routing-rules.md), built from a
declaration's facts, its screening results, the risk inputs officers keep and the
intelligence partners sent. Only CEL-native values go in (str, int, float, bool, lists,
maps); times are RFC 3339 strings except ``now``, so rules compare with ``timestamp()``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from customs_shared.events.schemas import (
    RADIATION_ALARM_DEFAULT_VALIDITY,
    CertificateStatus,
    DeclarationSubmitted,
    IprHit,
    IprOutcome,
    ItemFacts,
    OriginCertificate,
    RadiationAlarm,
    RiskAlert,
    SignatureStatus,
)

# A screening whose result had not arrived when the lane was decided.
NO_RESULT = "no_result"
# The country whose customs routes these declarations: an e-C/O must be issued for it.
IMPORTING_COUNTRY = "VN"


@dataclass(frozen=True, slots=True)
class TraderProfile:
    tax_code: str
    compliance_level: str  # high, medium, low or non_compliant
    priority: bool  # priority enterprise / authorised economic operator
    past_violations: int


@dataclass(frozen=True, slots=True)
class RiskListEntry:
    code: str  # a country (alpha-2), or an HS heading, subheading or 8-digit code
    level: str  # low, medium or high
    reason: str


@dataclass(frozen=True, slots=True)
class Evidence:
    """Everything known about one declaration version when its lane is decided."""

    facts: DeclarationSubmitted
    signature: SignatureStatus | None = None
    ipr: IprOutcome | None = None
    ipr_hits: Sequence[IprHit] = ()
    ipr_suspended: bool = False
    timed_out: bool = False
    trader: TraderProfile | None = None
    country_risks: Mapping[str, RiskListEntry] = field(default_factory=dict)
    hs_risks: Mapping[str, RiskListEntry] = field(default_factory=dict)
    # (HS code of 8 or 6 digits, origin country, unit) -> reference unit price in VND
    reference_prices: Mapping[tuple[str, str, str], Decimal] = field(default_factory=dict)
    radiation_alarms: Sequence[RadiationAlarm] = ()
    risk_alerts: Sequence[RiskAlert] = ()
    origin_certificates: Mapping[str, OriginCertificate] = field(default_factory=dict)


def value_in_vnd(facts: DeclarationSubmitted) -> Decimal | None:
    """The declared total in VND: converted by declaration-svc at the customs rate;
    unknown for a foreign currency declared before conversion existed."""
    if facts.total_customs_value_vnd is not None:
        return facts.total_customs_value_vnd
    return facts.total_customs_value if facts.currency == "VND" else None


def _item_value_vnd(item: ItemFacts, currency: str) -> Decimal | None:
    if item.customs_value_vnd is not None:
        return item.customs_value_vnd
    return item.customs_value if currency == "VND" else None


def reference_price(evidence: Evidence, item: ItemFacts) -> Decimal | None:
    """The most specific reference: the 8-digit code before its 6-digit subheading."""
    for code in (item.hs_code, item.hs_code[:6]):
        price = evidence.reference_prices.get((code, item.origin_country, item.unit))
        if price is not None:
            return price
    return None


def hs_risk(evidence: Evidence, hs_code: str) -> RiskListEntry | None:
    for code in (hs_code, hs_code[:6], hs_code[:4]):
        entry = evidence.hs_risks.get(code)
        if entry is not None:
            return entry
    return None


def certificate_matches(
    certificate: OriginCertificate | None, item: ItemFacts, importer: str | None
) -> bool:
    """An issued e-C/O for this importing country, from the item's country of origin,
    covering its subheading (and naming its importer, when it names one)."""
    return (
        certificate is not None
        and certificate.status is CertificateStatus.ISSUED
        and certificate.importing_country == IMPORTING_COUNTRY
        and certificate.exporting_country == item.origin_country
        and item.hs_code[:6] in certificate.hs_subheadings
        and (certificate.importer_tax_code is None or certificate.importer_tax_code == importer)
    )


@dataclass(frozen=True, slots=True)
class _Declared:
    """What alerts are matched against, gathered once per declaration."""

    headings: frozenset[str]
    containers: frozenset[str]
    countries: frozenset[str]  # of export and of origin

    @classmethod
    def of(cls, facts: DeclarationSubmitted) -> _Declared:
        countries = {facts.export_country} if facts.export_country else set()
        countries |= {item.origin_country for item in facts.items}
        return cls(
            frozenset(item.hs_code[:4] for item in facts.items),
            frozenset(facts.containers),
            frozenset(countries),
        )


def matching_alert_targets(
    alert: RiskAlert, facts: DeclarationSubmitted, declared: _Declared | None = None
) -> list[str]:
    """What of the declaration an alert names: its trader, an item's heading, a
    container or its route (country of export to here)."""
    declared = declared or _Declared.of(facts)
    targets = alert.targets
    matched: list[str] = []
    if facts.declarant_tax_code and facts.declarant_tax_code in targets.trader_tax_codes:
        matched.append(f"trader {facts.declarant_tax_code}")
    if targets.hs_headings:
        headings = sorted(declared.headings.intersection(targets.hs_headings))
        matched += [f"HS heading {h}" for h in headings]
    if targets.containers:
        containers = sorted(declared.containers.intersection(targets.containers))
        matched += [f"container {c}" for c in containers]
    for route in targets.routes:
        if route.from_country in declared.countries and route.to_country == IMPORTING_COUNTRY:
            matched.append(f"route {route.from_country}->{route.to_country}")
    return matched


def alarm_valid_until(alarm: RadiationAlarm) -> datetime:
    return alarm.valid_until or alarm.detected_at + RADIATION_ALARM_DEFAULT_VALIDITY


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _present(values: dict[str, Any]) -> dict[str, Any]:
    """Absent rather than null: a rule asks ``has(x.f)`` for an optional field."""
    return {k: v for k, v in values.items() if v is not None}


def _item(evidence: Evidence, item: ItemFacts, code_risk: RiskListEntry | None) -> dict[str, Any]:
    """One element of ``items``. Built key by key, leaving out what is unknown, because
    it runs for every item of every decision (a dict of Nones filtered afterwards cost
    a third more)."""
    facts = evidence.facts
    hs_code = item.hs_code
    values: dict[str, Any] = {
        "line": item.line,
        "hs_code": hs_code,
        "hs_subheading": hs_code[:6],
        "hs_heading": hs_code[:4],
        "description": item.description,
    }
    if item.brand is not None:
        values["brand"] = item.brand
    values["origin_country"] = item.origin_country
    values["quantity"] = float(item.quantity)
    values["unit"] = item.unit
    value_vnd = _item_value_vnd(item, facts.currency)
    if value_vnd is not None:
        values["value_vnd"] = float(value_vnd)
        if item.quantity > 0:
            values["unit_price_vnd"] = float(value_vnd / item.quantity)
    reference = reference_price(evidence, item)
    if reference is not None:
        values["reference_unit_price_vnd"] = float(reference)
    claim = item.preferential_origin
    values["preferential_claimed"] = claim is not None
    if claim is not None:
        values["preferential_form"] = claim.form
        values["preferential_certificate"] = claim.certificate_number
        certificate = evidence.origin_certificates.get(claim.certificate_number)
        values["origin_certificate_matched"] = certificate_matches(
            certificate, item, facts.declarant_tax_code
        )
    else:
        values["origin_certificate_matched"] = False
    country_risk = evidence.country_risks.get(item.origin_country)
    if country_risk is not None:
        values["origin_risk"] = country_risk.level
    if code_risk is not None:
        values["hs_risk"] = code_risk.level
    return values


def _risk_entry(entry: RiskListEntry) -> dict[str, Any]:
    return {"code": entry.code, "level": entry.level, "reason": entry.reason}


def build(evidence: Evidence, now: datetime) -> dict[str, Any]:
    """The input of every rule for one declaration version."""
    facts = evidence.facts
    code_risks = [hs_risk(evidence, item.hs_code) for item in facts.items]
    items = [_item(evidence, i, risk) for i, risk in zip(facts.items, code_risks, strict=True)]
    declared = _Declared.of(facts)
    trader = evidence.trader
    return {
        "declaration": _present(
            {
                "id": str(facts.declaration_id),
                "version": facts.version,
                "type": facts.declaration_type,
                "office": facts.customs_office,
                "declarant_kind": facts.declarant_kind.value,
                "declarant_tax_code": facts.declarant_tax_code,
                "currency": facts.currency,
                "value": float(facts.total_customs_value),
                "value_vnd": _number(value_in_vnd(facts)),
                "export_country": facts.export_country,
                "transport_mode": facts.transport_mode,
                "containers": list(facts.containers),
                "item_count": len(items),
                "submitted_at": facts.submitted_at.isoformat(),
            }
        ),
        "items": items,
        "trader": (
            {
                "known": True,
                "tax_code": trader.tax_code,
                "compliance_level": trader.compliance_level,
                "priority": trader.priority,
                "past_violations": trader.past_violations,
            }
            if trader
            else {
                "known": False,
                "compliance_level": "unknown",
                "priority": False,
                "past_violations": 0,
            }
        ),
        "screening": {
            "signature": evidence.signature.value if evidence.signature else NO_RESULT,
            "ipr": evidence.ipr.value if evidence.ipr else NO_RESULT,
            "ipr_hits": [
                {"record_id": h.record_id, "line": h.item_line, "mark": h.matched}
                for h in evidence.ipr_hits
            ],
            "ipr_suspended": evidence.ipr_suspended,
            "complete": evidence.signature is not None and evidence.ipr is not None,
            "timed_out": evidence.timed_out,
        },
        "intelligence": {
            "radiation_alarms": [
                _present(
                    {
                        "container_number": a.container_number,
                        "port": a.port,
                        "monitor_id": a.monitor_id,
                        "level": a.level.value,
                        "nuclide": a.nuclide,
                        "detected_at": a.detected_at.isoformat(),
                        "valid_until": alarm_valid_until(a).isoformat(),
                    }
                )
                for a in evidence.radiation_alarms
            ],
            "risk_alerts": [
                {
                    "alert_id": alert.alert_id,
                    "issuing_authority": alert.issuing_authority,
                    "risk_level": alert.risk_level.value,
                    "lane": alert.lane.value,
                    "reason": alert.reason,
                    "matched": matched,
                    "valid_until": alert.valid_until.isoformat(),
                }
                for alert in evidence.risk_alerts
                if (matched := matching_alert_targets(alert, facts, declared))
            ],
        },
        "risk": {
            "countries": [
                _risk_entry(evidence.country_risks[c])
                for c in sorted(declared.countries)
                if c in evidence.country_risks
            ],
            "hs": [
                {**_risk_entry(entry), "line": item.line}
                for item, entry in zip(facts.items, code_risks, strict=True)
                if entry is not None
            ],
        },
        "now": now,
    }
