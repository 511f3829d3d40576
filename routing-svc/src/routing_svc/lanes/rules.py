"""The first rule set: a few explainable rules, each firing with its own reason.
The lane is the most severe lane any rule fired (red > yellow > green)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from customs_shared.events.schemas import (
    DeclarationSubmitted,
    IprHit,
    IprOutcome,
    Lane,
    LaneReason,
    LaneVerdict,
    SignatureStatus,
)

RULE_SET_VERSION = "builtin-2026.11-2"  # -2: high value judged in VND for every currency

_SEVERITY = {Lane.GREEN: 0, Lane.YELLOW: 1, Lane.RED: 2}


@dataclass(frozen=True, slots=True)
class RuleSettings:
    """What the rules are configured with: the limits they compare against and the
    outcomes operators chose."""

    high_value_threshold: Decimal
    # An enterprise's invalid signature rejects the declaration instead of sending it red.
    reject_invalid_signature: bool = False


@dataclass(frozen=True, slots=True)
class ScreenedDeclaration:
    """A declaration's facts with whatever screening results have arrived."""

    facts: DeclarationSubmitted
    signature: SignatureStatus | None
    ipr: IprOutcome | None
    ipr_hits: list[IprHit]


def _value_in_vnd(facts: DeclarationSubmitted) -> Decimal | None:
    """The declared total in VND: converted by declaration-svc at the customs rate;
    unknown for a foreign currency declared before conversion existed."""
    if facts.total_customs_value_vnd is not None:
        return facts.total_customs_value_vnd
    return facts.total_customs_value if facts.currency == "VND" else None


def decide(inputs: ScreenedDeclaration, settings: RuleSettings) -> LaneVerdict:
    facts = inputs.facts
    reasons: list[LaneReason] = []
    if inputs.ipr is IprOutcome.HIT:
        marks = ", ".join(sorted({f"{h.matched} (line {h.item_line})" for h in inputs.ipr_hits}))
        reasons.append(
            LaneReason(
                rule="ipr-hit",
                lane=Lane.RED,
                explanation=f"Goods match a recorded intellectual property right: {marks}.",
            )
        )
    if inputs.signature is SignatureStatus.MISSING:
        reasons.append(
            LaneReason(
                rule="enterprise-signature-missing",
                lane=Lane.YELLOW,
                explanation="An enterprise declarant sent no signature; documents need a check.",
            )
        )
    if inputs.signature is SignatureStatus.INVALID:
        reasons.append(
            LaneReason(
                rule="enterprise-signature-invalid",
                lane=Lane.RED,
                explanation="The enterprise's signature failed verification (see its report).",
            )
        )
    if inputs.signature is SignatureStatus.INDETERMINATE:
        reasons.append(
            LaneReason(
                rule="enterprise-signature-indeterminate",
                lane=Lane.YELLOW,
                explanation="The enterprise's signature could not be verified yet; "
                "documents need a check.",
            )
        )
    missing = [
        name
        for name, value in (("signature", inputs.signature), ("ipr", inputs.ipr))
        if value is None
    ]
    if missing:
        reasons.append(
            LaneReason(
                rule="screening-incomplete",
                lane=Lane.YELLOW,
                explanation=f"No {' or '.join(missing)} screening result arrived in time.",
            )
        )
    value_vnd = _value_in_vnd(facts)
    if value_vnd is not None and value_vnd >= settings.high_value_threshold:
        declared = (
            f" ({facts.total_customs_value:,} {facts.currency} at {facts.exchange_rate:,})"
            if facts.currency != "VND" and facts.exchange_rate is not None
            else ""
        )
        reasons.append(
            LaneReason(
                rule="high-value",
                lane=Lane.YELLOW,
                explanation=(
                    f"Declared value {value_vnd:,} VND{declared} is at or above "
                    f"{settings.high_value_threshold:,} VND."
                ),
            )
        )
    if not reasons:
        reasons.append(
            LaneReason(
                rule="no-risk-found",
                lane=Lane.GREEN,
                explanation="Signature and IPR screening passed and no risk rule fired.",
            )
        )
    lane = max((r.lane for r in reasons), key=_SEVERITY.__getitem__)
    return LaneVerdict(
        lane=lane,
        rejected=(
            settings.reject_invalid_signature and inputs.signature is SignatureStatus.INVALID
        ),
        reasons=reasons,
        rule_set_version=RULE_SET_VERSION,
        inputs={
            "signature": inputs.signature or "missing-result",
            "ipr": inputs.ipr or "missing-result",
            "declarant_kind": facts.declarant_kind,
            "total_customs_value": f"{facts.total_customs_value} {facts.currency}",
            "total_customs_value_vnd": str(_value_in_vnd(facts) or "unknown"),
            "items": str(len(facts.items)),
        },
    )
