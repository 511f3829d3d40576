"""The first rule set, as pure logic: which rules fire and which lane wins."""

from __future__ import annotations

from decimal import Decimal

import pytest

from customs_shared.events.schemas import (
    DeclarationSubmitted,
    IprHit,
    IprOutcome,
    Lane,
    SignatureStatus,
)
from routing_svc.lanes.rules import (
    RULE_SET_VERSION,
    RuleSettings,
    ScreenedDeclaration,
    decide,
)
from tests.support.factories import declaration_submitted

POLICY = RuleSettings(high_value_threshold=Decimal("2000000000"))


def facts(total: str, currency: str) -> DeclarationSubmitted:
    return declaration_submitted(total=total, currency=currency)


def inputs(
    *,
    signature: SignatureStatus | None = SignatureStatus.PRESENT,
    ipr: IprOutcome | None = IprOutcome.CLEAR,
    hits: list[IprHit] | None = None,
    total: str = "1000000",
    currency: str = "VND",
) -> ScreenedDeclaration:
    return ScreenedDeclaration(facts(total, currency), signature, ipr, hits or [])


def test_clean_declaration_is_green_with_a_reason() -> None:
    decision = decide(inputs(), POLICY)
    assert decision.lane is Lane.GREEN
    assert [r.rule for r in decision.reasons] == ["no-risk-found"]
    assert decision.rule_set_version == RULE_SET_VERSION
    assert decision.inputs["signature"] == "present"


def test_ipr_hit_is_red_and_names_the_mark() -> None:
    hit = IprHit(record_id="r1", item_line=1, matched="ACME")
    decision = decide(inputs(ipr=IprOutcome.HIT, hits=[hit]), POLICY)
    assert decision.lane is Lane.RED
    assert "ACME (line 1)" in decision.reasons[0].explanation


def test_missing_enterprise_signature_is_yellow() -> None:
    decision = decide(inputs(signature=SignatureStatus.MISSING), POLICY)
    assert decision.lane is Lane.YELLOW
    assert [r.rule for r in decision.reasons] == ["enterprise-signature-missing"]


@pytest.mark.parametrize(
    ("signature", "lane", "rule"),
    [
        (SignatureStatus.INVALID, Lane.RED, "enterprise-signature-invalid"),
        (SignatureStatus.INDETERMINATE, Lane.YELLOW, "enterprise-signature-indeterminate"),
        (SignatureStatus.VALID, Lane.GREEN, "no-risk-found"),
    ],
)
def test_a_verified_signature_decides_by_its_indication(
    signature: SignatureStatus, lane: Lane, rule: str
) -> None:
    decision = decide(inputs(signature=signature), POLICY)
    assert decision.lane is lane
    assert [r.rule for r in decision.reasons] == [rule]


@pytest.mark.parametrize("signature", list(SignatureStatus))
def test_an_invalid_signature_rejects_only_where_configured(signature: SignatureStatus) -> None:
    rejecting = RuleSettings(Decimal("2000000000"), reject_invalid_signature=True)
    configured = decide(inputs(signature=signature), rejecting)
    default = decide(inputs(signature=signature), POLICY)
    assert configured.rejected is (signature is SignatureStatus.INVALID)
    assert default.rejected is False
    # The lane and its reasons are the same either way: the rejection comes on top.
    assert (configured.lane, configured.reasons) == (default.lane, default.reasons)


@pytest.mark.parametrize(
    ("signature", "ipr", "missing"),
    [
        (None, IprOutcome.CLEAR, "signature"),
        (SignatureStatus.PRESENT, None, "ipr"),
        (None, None, "signature or ipr"),
    ],
)
def test_missing_screening_result_is_yellow_and_says_which(
    signature: SignatureStatus | None, ipr: IprOutcome | None, missing: str
) -> None:
    decision = decide(inputs(signature=signature, ipr=ipr), POLICY)
    assert decision.lane is Lane.YELLOW
    assert decision.reasons[0].rule == "screening-incomplete"
    assert f"No {missing} screening" in decision.reasons[0].explanation


def test_high_value_threshold_is_inclusive_and_in_vnd() -> None:
    assert decide(inputs(total="2000000000"), POLICY).lane is Lane.YELLOW
    assert decide(inputs(total="1999999999.9999"), POLICY).lane is Lane.GREEN
    # A foreign-currency total without its VND value (older events) is not guessed at.
    assert decide(inputs(total="2000000000", currency="USD"), POLICY).lane is Lane.GREEN


def test_a_foreign_currency_declaration_is_judged_by_its_value_in_vnd() -> None:
    def usd(total: str, vnd: str) -> ScreenedDeclaration:
        facts = declaration_submitted(
            total=total,
            currency="USD",
            exchange_rate=Decimal(25_400),
            total_customs_value_vnd=Decimal(vnd),
        )
        return ScreenedDeclaration(facts, SignatureStatus.PRESENT, IprOutcome.CLEAR, [])

    over = decide(usd("90000", "2286000000"), POLICY)
    assert over.lane is Lane.YELLOW
    assert [r.rule for r in over.reasons] == ["high-value"]
    assert "2,286,000,000 VND (90,000 USD at 25,400)" in over.reasons[0].explanation
    assert over.inputs["total_customs_value_vnd"] == "2286000000"
    assert decide(usd("78000", "1981200000"), POLICY).lane is Lane.GREEN


def test_most_severe_lane_wins_and_every_fired_rule_is_kept() -> None:
    hit = IprHit(record_id="r1", item_line=1, matched="ACME")
    decision = decide(
        inputs(signature=SignatureStatus.MISSING, ipr=IprOutcome.HIT, hits=[hit], total="3e9"),
        POLICY,
    )
    assert decision.lane is Lane.RED
    assert [r.rule for r in decision.reasons] == [
        "ipr-hit",
        "enterprise-signature-missing",
        "high-value",
    ]
