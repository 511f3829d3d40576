"""Each built-in rule fires on the input crafted for it, and no other rule does."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from customs_shared.events.schemas import (
    IprHit,
    IprOutcome,
    Lane,
    PreferentialOriginClaim,
    RadiationAlarm,
    RadiationLevel,
    RiskAlert,
    SignatureStatus,
)
from routing_svc.rules import definitions, engine, inputs
from routing_svc.rules.active import BUILTIN_VERSION, compile_definition
from routing_svc.rules.inputs import Evidence, RiskListEntry, TraderProfile
from tests.support.factories import TAX_CODE, declaration_submitted, item_facts

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
CONTAINER = "MSKU1234565"
BUILTIN = compile_definition(BUILTIN_VERSION, definitions.builtin())


def quiet() -> Evidence:
    """An enterprise's signed import of one item, screened clear, from a compliant trader."""
    return Evidence(
        facts=declaration_submitted(
            total="100000000",
            items=[item_facts(customs_value=Decimal(100_000_000), quantity=Decimal(100))],
            containers=[CONTAINER],
            export_country="CN",
            submitted_at=NOW - timedelta(minutes=5),
        ),
        signature=SignatureStatus.VALID,
        ipr=IprOutcome.CLEAR,
        trader=TraderProfile(TAX_CODE, "high", priority=False, past_violations=0),
    )


def _alert(lane: str) -> RiskAlert:
    return RiskAlert.model_validate(
        {
            "alert_id": f"KCS-{lane}",
            "issuing_authority": "Korea Customs Service",
            "targets": {"trader_tax_codes": [TAX_CODE]},
            "risk_level": "high",
            "lane": lane,
            "reason": "Misdeclared goods",
            "valid_from": "2026-11-01T00:00:00Z",
            "valid_until": "2026-12-31T00:00:00Z",
        }
    )


def _with_claim(evidence: Evidence) -> Evidence:
    item = item_facts(
        customs_value=Decimal(100_000_000),
        preferential_origin=PreferentialOriginClaim(form="E", certificate_number="E26CN0001"),
    )
    facts = evidence.facts.model_copy(update={"items": [item]})
    return dataclasses.replace(evidence, facts=facts)


def _high_value(evidence: Evidence) -> Evidence:
    facts = evidence.facts.model_copy(
        update={"total_customs_value": Decimal(2_500_000_000), "total_customs_value_vnd": None}
    )
    return dataclasses.replace(evidence, facts=facts)


def _trader(level: str, violations: int = 0) -> Callable[[Evidence], Evidence]:
    return lambda e: dataclasses.replace(
        e, trader=TraderProfile(TAX_CODE, level, priority=False, past_violations=violations)
    )


def _risk(kind: str, level: str) -> Callable[[Evidence], Evidence]:
    code = "CN" if kind == "country" else "6109"
    entries = {code: RiskListEntry(code, level, "on the list")}
    if kind == "country":
        return lambda e: dataclasses.replace(e, country_risks=entries)
    return lambda e: dataclasses.replace(e, hs_risks=entries)


ALARM = RadiationAlarm(
    container_number=CONTAINER,
    port="VNHPH",
    monitor_id="RPM-HP-07",
    detected_at=NOW - timedelta(hours=1),
    level=RadiationLevel.ALARM,
)
HIT = IprHit(record_id="IPR-1", item_line=1, matched="EXAMPLE")

CRAFTED: dict[str, Callable[[Evidence], Evidence]] = {
    "ipr-hit": lambda e: dataclasses.replace(e, ipr=IprOutcome.HIT, ipr_hits=[HIT]),
    "ipr-suspended": lambda e: dataclasses.replace(e, ipr_suspended=True),
    "enterprise-signature-missing": lambda e: dataclasses.replace(
        e, signature=SignatureStatus.MISSING
    ),
    "enterprise-signature-invalid": lambda e: dataclasses.replace(
        e, signature=SignatureStatus.INVALID
    ),
    "enterprise-signature-indeterminate": lambda e: dataclasses.replace(
        e, signature=SignatureStatus.INDETERMINATE
    ),
    "screening-incomplete": lambda e: dataclasses.replace(e, ipr=None, timed_out=True),
    "high-value": _high_value,
    "radiation-alarm": lambda e: dataclasses.replace(e, radiation_alarms=[ALARM]),
    "partner-alert-red": lambda e: dataclasses.replace(e, risk_alerts=[_alert("red")]),
    "partner-alert-yellow": lambda e: dataclasses.replace(e, risk_alerts=[_alert("yellow")]),
    "preferential-origin-unproven": _with_claim,
    # Declared at 1,000,000 VND a piece against a reference of 2,500,000.
    "valuation-anomaly": lambda e: dataclasses.replace(
        e, reference_prices={("610910", "CN", "PCE"): Decimal(2_500_000)}
    ),
    "country-risk-high": _risk("country", "high"),
    "country-risk-medium": _risk("country", "medium"),
    "hs-risk-high": _risk("hs", "high"),
    "hs-risk-medium": _risk("hs", "medium"),
    "trader-non-compliant": _trader("non_compliant", violations=1),
    "trader-low-compliance": _trader("medium", violations=3),
}


def _verdict(evidence: Evidence) -> engine.Verdict:
    return engine.evaluate(BUILTIN, inputs.build(evidence, NOW), now=NOW, draw=0.99, office="02CI")


def test_every_builtin_rule_has_a_crafted_input() -> None:
    assert [r.id for r in definitions.builtin().rules] == list(CRAFTED)


def test_the_quiet_declaration_fires_no_builtin_rule() -> None:
    verdict = _verdict(quiet())
    assert verdict.fired == []
    assert verdict.errors == []
    assert verdict.lane is Lane.GREEN


@pytest.mark.parametrize("rule_id", list(CRAFTED))
def test_a_builtin_rule_fires_alone_on_its_crafted_input(rule_id: str) -> None:
    verdict = _verdict(CRAFTED[rule_id](quiet()))
    assert verdict.fired == [rule_id]
    assert verdict.errors == []
    [definition] = [r for r in definitions.builtin().rules if r.id == rule_id]
    assert verdict.lane is definition.lane
    assert verdict.score == definition.weight
    [reason] = verdict.reasons
    assert "{" not in reason.explanation  # every placeholder rendered
