"""The documented rule input built from evidence: optional fields absent rather than null,
money as numbers, the most specific risk entries, and what of a declaration an alert names."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

from customs_shared.events.schemas import (
    CertificateStatus,
    IprOutcome,
    OriginCertificate,
    PreferentialOriginClaim,
    RiskAlert,
    SignatureStatus,
)
from routing_svc.rules import inputs, sample
from routing_svc.rules.inputs import Evidence, RiskListEntry
from tests.support.factories import TAX_CODE, declaration_submitted, item_facts

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
CONTAINERS = ["MSKU1234565", "CMAU0000005"]


def evidence(**facts: object) -> Evidence:
    return Evidence(
        facts=declaration_submitted(**facts),
        signature=SignatureStatus.VALID,
        ipr=IprOutcome.CLEAR,
    )


def test_an_item_has_every_documented_field_in_order_when_all_are_known() -> None:
    [item] = sample.values()["items"]
    assert list(item) == [
        "line", "hs_code", "hs_subheading", "hs_heading", "description", "brand",
        "origin_country", "quantity", "unit", "value_vnd", "unit_price_vnd",
        "reference_unit_price_vnd", "preferential_claimed", "preferential_form",
        "preferential_certificate", "origin_certificate_matched", "origin_risk", "hs_risk",
    ]  # fmt: skip
    assert item["unit_price_vnd"] == 2_500_000.0
    assert item["reference_unit_price_vnd"] == 4_000_000.0
    assert item["origin_certificate_matched"] is True


def test_unknown_item_fields_are_absent_not_null() -> None:
    foreign = item_facts(customs_value=Decimal(100), quantity=Decimal(4))  # USD, not converted
    free = item_facts(line=2, customs_value=Decimal(0), quantity=Decimal(0))
    values = inputs.build(evidence(currency="USD", items=[foreign, free], total="100"), NOW)
    first, second = values["items"]
    for absent in ("brand", "value_vnd", "unit_price_vnd", "reference_unit_price_vnd"):
        assert absent not in first
    assert "preferential_form" not in first
    assert first["preferential_claimed"] is False
    assert first["origin_certificate_matched"] is False
    assert "value_vnd" not in values["declaration"]
    converted = dataclasses.replace(
        evidence(),
        facts=declaration_submitted(items=[free.model_copy(update={"customs_value_vnd": 0})]),
    )
    [item] = inputs.build(converted, NOW)["items"]
    assert item["value_vnd"] == 0.0
    assert "unit_price_vnd" not in item  # no quantity to divide by
    assert second["quantity"] == 0.0


def test_a_claim_matches_only_an_issued_certificate_covering_the_subheading() -> None:
    claim = PreferentialOriginClaim(form="E", certificate_number="E26CN1")
    certificate = OriginCertificate(
        reference="E26CN1",
        form="E",
        exporting_country="CN",
        importing_country="VN",
        exporter_name="Exporter",
        hs_subheadings=["610910"],
        issued_at=NOW,
        status=CertificateStatus.ISSUED,
    )
    claimed = evidence(items=[item_facts(preferential_origin=claim)])
    with_it = dataclasses.replace(claimed, origin_certificates={"E26CN1": certificate})
    revoked = certificate.model_copy(update={"status": CertificateStatus.REVOKED})
    without = dataclasses.replace(claimed, origin_certificates={"E26CN1": revoked})
    for given, matched in ((claimed, False), (with_it, True), (without, False)):
        [item] = inputs.build(given, NOW)["items"]
        assert item["preferential_claimed"] is True
        assert item["preferential_certificate"] == "E26CN1"
        assert item["origin_certificate_matched"] is matched


def test_risk_lists_give_the_most_specific_hs_entry_per_item_and_sorted_countries() -> None:
    given = dataclasses.replace(
        evidence(
            items=[
                item_facts(line=1, hs_code="85171300", origin_country="KR"),
                item_facts(line=2, hs_code="61091000", origin_country="CN"),
            ],
            export_country="TH",
        ),
        hs_risks={
            "8517": RiskListEntry("8517", "low", "heading"),
            "851713": RiskListEntry("851713", "high", "subheading"),
        },
        country_risks={
            "TH": RiskListEntry("TH", "medium", "transit"),
            "CN": RiskListEntry("CN", "low", "watch"),
        },
    )
    values = inputs.build(given, NOW)
    assert values["risk"]["hs"] == [
        {"code": "851713", "level": "high", "reason": "subheading", "line": 1}
    ]
    assert [c["code"] for c in values["risk"]["countries"]] == ["CN", "TH"]
    assert [i.get("hs_risk") for i in values["items"]] == ["high", None]
    assert [i.get("origin_risk") for i in values["items"]] == [None, "low"]


def _alert(**targets: object) -> RiskAlert:
    return RiskAlert.model_validate(
        {
            "alert_id": "A-1",
            "issuing_authority": "Partner customs",
            "targets": targets,
            "risk_level": "high",
            "lane": "red",
            "reason": "why",
            "valid_from": "2026-11-01T00:00:00Z",
            "valid_until": "2026-12-31T00:00:00Z",
        }
    )


def test_an_alert_names_the_trader_headings_containers_and_routes_it_matched() -> None:
    facts = declaration_submitted(
        items=[
            item_facts(line=1, hs_code="85171300", origin_country="KR"),
            item_facts(line=2, hs_code="61091000", origin_country="CN"),
        ],
        containers=CONTAINERS,
        export_country="SG",
    )
    alert = _alert(
        trader_tax_codes=[TAX_CODE],
        hs_headings=["6109", "8517", "9503"],
        containers=[CONTAINERS[1], "TGHU0000008"],
        routes=[{"from": "CN", "to": "VN"}, {"from": "JP", "to": "VN"}],
    )
    assert inputs.matching_alert_targets(alert, facts) == [
        f"trader {TAX_CODE}",
        "HS heading 6109",
        "HS heading 8517",
        f"container {CONTAINERS[1]}",
        "route CN->VN",
    ]
    assert inputs.matching_alert_targets(_alert(routes=[{"from": "SG", "to": "VN"}]), facts) == [
        "route SG->VN"
    ]
    elsewhere = _alert(hs_headings=["9503"], routes=[{"from": "CN", "to": "TH"}])
    assert inputs.matching_alert_targets(elsewhere, facts) == []
    given = dataclasses.replace(Evidence(facts=facts), risk_alerts=[alert, elsewhere])
    [shown] = inputs.build(given, NOW)["intelligence"]["risk_alerts"]
    assert shown["alert_id"] == "A-1"
    assert shown["matched"][0] == f"trader {TAX_CODE}"
