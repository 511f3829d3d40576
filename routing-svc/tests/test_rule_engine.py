"""The rule engine on crafted inputs: random selection, every rule evaluated, scores,
validity windows, reasons and what each rule saw, rule errors, and the batched evaluation
giving exactly the outcomes of one-by-one evaluation."""

from __future__ import annotations

import math
import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from customs_shared.events.schemas import IprOutcome, Lane, SignatureStatus
from routing_svc.rules import cel, engine, inputs
from routing_svc.rules.active import compile_definition
from routing_svc.rules.definitions import RuleSetDefinition
from routing_svc.rules.engine import CompiledRuleSet
from routing_svc.rules.inputs import Evidence, TraderProfile
from tests.support.factories import TAX_CODE, declaration_submitted, item_facts

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SEED = b"a random selection seed of 32+ bytes"
OFFICE = "02CI"


def rule(rule_id: str, expression: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": rule_id,
        "name": rule_id,
        "expression": expression,
        "lane": "yellow",
        "reason": f"{rule_id} fired.",
        **fields,
    }


def rule_set(*rules: dict[str, Any], **fields: Any) -> CompiledRuleSet:
    return compile_definition("test", RuleSetDefinition.model_validate({"rules": rules, **fields}))


def values(**facts: Any) -> dict[str, Any]:
    """Two items (CN and KR), a known trader, both screenings in."""
    facts.setdefault(
        "items",
        [
            item_facts(line=1, hs_code="61091000", origin_country="CN"),
            item_facts(line=2, hs_code="85171300", origin_country="KR"),
        ],
    )
    facts.setdefault("total", "2500000")
    evidence = Evidence(
        facts=declaration_submitted(**facts),
        signature=SignatureStatus.VALID,
        ipr=IprOutcome.CLEAR,
        trader=TraderProfile(TAX_CODE, "high", priority=False, past_violations=0),
    )
    return inputs.build(evidence, NOW)


def decide(compiled: CompiledRuleSet, given: dict[str, Any], draw: float = 0.99) -> engine.Verdict:
    return engine.evaluate(compiled, given, now=NOW, draw=draw, office=OFFICE)


def ids(count: int) -> list[uuid.UUID]:
    rng = random.Random(9)
    return [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(count)]


def within_four_sigma(observed: int, n: int, p: float) -> bool:
    return abs(observed - n * p) <= 4 * math.sqrt(n * p * (1 - p))


def test_random_selection_over_10000_ids_is_within_tolerance_of_the_office_rates() -> None:
    compiled = rule_set(
        rule("never", "declaration.item_count > 1000"),
        random_selection={
            "default": {"yellow": 0.0, "red": 0.0},
            "offices": {OFFICE: {"yellow": 0.10, "red": 0.05}},
        },
    )
    given = values()
    lanes = {Lane.GREEN: 0, Lane.YELLOW: 0, Lane.RED: 0}
    n = 10_000
    for declaration_id in ids(n):
        verdict = decide(compiled, given, engine.random_draw(declaration_id, SEED))
        lanes[verdict.lane] += 1
        assert verdict.randomly_selected == (None if verdict.lane is Lane.GREEN else verdict.lane)
    assert within_four_sigma(lanes[Lane.RED], n, 0.05), lanes
    assert within_four_sigma(lanes[Lane.YELLOW], n, 0.10), lanes
    # Another office has the default rates: nothing selected.
    other = engine.evaluate(compiled, given, now=NOW, draw=0.001, office="01B1")
    assert other.randomly_selected is None
    assert other.lane is Lane.GREEN


def test_the_draw_is_stable_for_an_id_and_seed_and_changes_with_the_seed() -> None:
    sample = ids(1_000)
    first = [engine.random_draw(i, SEED) for i in sample]
    assert first == [engine.random_draw(i, SEED) for i in sample]
    assert all(0 <= d < 1 for d in first)
    other = [engine.random_draw(i, b"another seed, also of 32 bytes or more") for i in sample]
    assert sum(a != b for a, b in zip(first, other, strict=True)) == len(sample)
    # Which ids a 5 % rate picks depends on the seed.
    assert {i for i, d in zip(sample, first, strict=True) if d < 0.05} != {
        i for i, d in zip(sample, other, strict=True) if d < 0.05
    }


def test_random_selection_never_lowers_the_lane_rules_demand() -> None:
    compiled = rule_set(
        rule("always-red", "declaration.item_count >= 1", lane="red"),
        random_selection={"default": {"yellow": 0.5, "red": 0.0}},
    )
    verdict = decide(compiled, values(), draw=0.1)  # selects yellow
    assert verdict.lane is Lane.RED
    assert verdict.randomly_selected is None
    assert [r.rule for r in verdict.reasons] == ["always-red"]
    raised = decide(rule_set(rule("yellow", "true"), **_rates(red=0.5)), values(), draw=0.1)
    assert raised.lane is Lane.RED
    assert raised.randomly_selected is Lane.RED
    assert [r.rule for r in raised.reasons] == ["yellow", engine.RANDOM_SELECTION]


def _rates(*, yellow: float = 0.0, red: float = 0.0) -> dict[str, Any]:
    return {"random_selection": {"default": {"yellow": yellow, "red": red}}}


def test_every_rule_is_evaluated_and_the_score_is_the_sum_of_the_weights_that_fired() -> None:
    compiled = rule_set(
        rule("cn-item", "items.exists(i, i.origin_country == 'CN')", weight=15),
        rule("phones", "items.exists(i, i.hs_heading == '8517')", lane="red", weight=30),
        rule("not-me", "declaration.item_count > 5", lane="red", weight=50),
        rule("kr-item", "'KR' in items.map(i, i.origin_country)", weight=7),
    )
    verdict = decide(compiled, values())
    assert verdict.fired == ["cn-item", "phones", "kr-item"]
    assert verdict.score == 15 + 30 + 7
    assert verdict.lane is Lane.RED
    assert verdict.errors == []
    quiet = decide(compiled, values(items=[item_facts(origin_country="TH")]))
    assert quiet.fired == []
    assert quiet.score == 0
    assert quiet.lane is Lane.GREEN
    assert [r.rule for r in quiet.reasons] == [engine.NO_RISK]


def test_a_rule_outside_its_validity_window_is_not_evaluated() -> None:
    compiled = rule_set(
        rule("in-force", "declaration.item_count == 2", valid_from="2026-11-01T00:00:00Z"),
        rule("expired", "declaration.item_count == 2", valid_until="2026-11-20T09:00:00Z"),
        rule("not-yet", "declaration.item_count == 2", valid_from="2026-11-21T00:00:00Z"),
        # Would err on this input (no export country) if it were evaluated.
        rule(
            "expired-erring",
            "declaration.export_country == 'CN'",
            valid_until="2026-11-01T00:00:00Z",
        ),
    )
    assert compiled.windowed
    verdict = decide(compiled, values())
    assert verdict.fired == ["in-force"]
    assert verdict.errors == []
    later = engine.evaluate(compiled, values(), now=NOW + timedelta(days=2), draw=0.9, office="x")
    assert later.fired == ["in-force", "not-yet"]


def test_rule_sets_without_windows_skip_the_window_check() -> None:
    assert not rule_set(rule("always", "true")).windowed


def test_reason_templates_render_the_inputs() -> None:
    template = (
        "Value {declaration.value_vnd} VND, origins {items.origin_country}, trader "
        "{trader.tax_code} ({trader.priority}), export {declaration.export_country}."
    )
    verdict = decide(rule_set(rule("shows", "true", reason=template)), values())
    [reason] = verdict.reasons
    assert reason.explanation == (
        f"Value 2,500,000 VND, origins CN, KR, trader {TAX_CODE} (False), export unknown."
    )
    assert engine.render("{declaration.value} and {trader}", {"declaration": {"value": 1.5}}) == (
        "1.50 and unknown"
    )
    assert engine.render("{m}", {"m": {"b": 1, "a": "x"}}) == '{"a": "x", "b": 1}'
    many = engine.render("{items.line}", {"items": [{"line": n} for n in range(25)]})
    assert many.endswith("18, 19 and 5 more")
    assert engine.render("no placeholders", {}) == "no placeholders"


def test_each_reason_records_the_inputs_its_rule_read() -> None:
    compiled = rule_set(
        rule(
            "phones-from-cn",
            "items.exists(i, i.hs_code.startsWith('8517') && i.origin_country != 'US') "
            "&& trader.past_violations < 3 && declaration.containers.size() == 0",
        )
    )
    [reason] = decide(compiled, values()).reasons
    assert reason.saw == {
        "items.hs_code": "61091000, 85171300",
        "items.origin_country": "CN, KR",
        "trader.past_violations": "0",
        "declaration.containers": "",
    }


def test_referenced_paths_follow_macro_variables_and_skip_literals_and_methods() -> None:
    paths = engine.referenced_paths(
        "items.exists(i, i.unit_price_vnd < 0.5 * i.reference_unit_price_vnd) "
        "&& risk.hs.exists(h, h.level == 'trader.tax_code') "
        "&& now > timestamp('2026-01-01T00:00:00Z')"
    )
    assert paths == ("items.unit_price_vnd", "items.reference_unit_price_vnd", "risk.hs.level")


def test_a_rule_error_is_recorded_and_does_not_fire() -> None:
    compiled = rule_set(
        rule("needs-export", "declaration.export_country == 'CN'", lane="red"),
        rule("fires", "declaration.item_count == 2"),
    )
    verdict = decide(compiled, values())  # export_country absent
    assert verdict.fired == ["fires"]
    assert verdict.lane is Lane.YELLOW
    [error] = verdict.errors
    assert error.rule == "needs-export"
    assert "export_country" in error.error
    with_export = decide(compiled, values(export_country="CN"))
    assert with_export.fired == ["needs-export", "fires"]
    assert with_export.errors == []


def test_a_rule_that_fails_on_the_documented_input_is_refused_at_compilation() -> None:
    with pytest.raises(engine.RuleInvalid) as refused:
        rule_set(rule("bad", "declaration.no_such_field == 'x'"))
    assert refused.value.rule_id == "bad"
    with pytest.raises(engine.RuleInvalid, match="not a bool"):
        rule_set(rule("string", "declaration.office"))


def _one_by_one(expressions: list[cel.Expression], given: dict[str, Any]) -> list[cel.Outcome]:
    activation = cel.activation(given)
    return [e.evaluate(activation) for e in expressions]


def test_the_batch_gives_exactly_the_outcomes_of_one_by_one_evaluation() -> None:
    sources = [
        *(f"declaration.item_count == {n % 4}" for n in range(70)),  # more than one chunk
        "declaration.export_country == 'CN'",  # errs without an export country
        "declaration.office",  # not a bool
        "declaration.item_count > 0 // a comment ends the line",
        "(" * 28 + "items.size() == 2" + ")" * 28,  # too deep to share a program
    ]
    expressions = [cel.Expression(s) for s in sources]
    batch = cel.Batch(expressions)
    everything = list(range(len(expressions)))
    for given in (values(), values(export_country="CN"), values(items=[item_facts()])):
        expected = _one_by_one(expressions, given)
        assert batch.evaluate(cel.activation(given), everything) == expected
        some = everything[::3]
        assert batch.evaluate(cel.activation(given), some) == [expected[n] for n in some]
        # Only what held or failed, in order.
        notable = [(n, o) for n, o in enumerate(expected) if o.fired or o.error is not None]
        assert batch.notable(cel.activation(given)) == notable
        assert batch.notable(cel.activation(given), some) == [p for p in notable if p[0] in some]
        assert len(notable) > 10
    assert batch.evaluate(cel.activation(values()), []) == []
    fired = batch.evaluate(cel.activation(values()), everything)
    assert [o.fired for o in fired[:4]] == [False, False, True, False]
    assert fired[70].error is not None
    assert fired[71].error == "the rule gave a STRING, not a bool"


def test_a_rule_set_without_a_batch_evaluates_one_by_one_alike() -> None:
    compiled = rule_set(
        rule("fires", "declaration.item_count == 2", weight=5),
        rule("errs", "declaration.export_country == 'CN'"),
    )
    plain = CompiledRuleSet(compiled.version, compiled.definition, compiled.rules)
    assert decide(plain, values()) == decide(compiled, values())
    verdict = decide(plain, values())
    assert verdict.fired == ["fires"]
    assert [e.rule for e in verdict.errors] == ["errs"]


def test_a_large_windowed_rule_set_decides_as_one_by_one_evaluation_would() -> None:
    rules = [
        rule(
            f"rule-{n:02d}",
            f"declaration.item_count == {n % 3} || items.exists(i, i.line == {n % 5})",
            lane="red" if n % 7 == 0 else "yellow",
            weight=n,
            reason=f"rule {n} saw {{items.line}}",
            **({"valid_until": "2026-11-01T00:00:00Z"} if n % 4 == 0 else {}),
        )
        for n in range(70)
    ]
    rules.append(rule("needs-export", "declaration.export_country == 'CN'"))
    compiled = rule_set(*rules)
    plain = CompiledRuleSet(compiled.version, compiled.definition, compiled.rules)
    for given in (values(), values(export_country="CN"), values(items=[item_facts()])):
        batched = decide(compiled, given)
        assert batched == decide(plain, given)
        assert batched.fired
        windowed = [r for r in batched.fired if r.startswith("rule-")]
        assert not any(int(r.removeprefix("rule-")) % 4 == 0 for r in windowed)
    assert decide(compiled, values()).errors[0].rule == "needs-export"


def test_money_reaches_the_rules_as_numbers() -> None:
    given = values(items=[item_facts(customs_value=Decimal("1000000"), quantity=Decimal(8))])
    [item] = given["items"]
    assert item["value_vnd"] == 1_000_000.0
    assert item["unit_price_vnd"] == 125_000.0
    assert given["declaration"]["value_vnd"] == 2_500_000.0
