"""Evaluates a rule set on a declaration: every rule in force is evaluated (not the first
match), the lane is the most severe any rule demanded, random selection may raise it, and
each reason records the inputs its rule read."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from customs_shared.events.schemas import Lane, LaneReason
from routing_svc.rules import cel
from routing_svc.rules.definitions import RuleDefinition, RuleSetDefinition, SelectionRates

SEVERITY = {Lane.GREEN: 0, Lane.YELLOW: 1, Lane.RED: 2}
_VARIABLES = tuple(cel.VARIABLES)
_STRING_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
# items.exists(i, i.hs_code ...) binds i to each element of items.
_MACRO_BINDING = re.compile(
    r"\b([a-z_][\w.]*)\.(?:all|exists|exists_one|filter|map)\(\s*([a-z_]\w*)\s*,"
)
_PATH = re.compile(r"(?<![\w.])([a-z_]\w*(?:\.[a-z_]\w*)+|[a-z_]\w*)")
_PLACEHOLDER = re.compile(r"\{([a-z_]\w*(?:\.[a-z_]\w*)*)\}")
_MAX_SHOWN = 20  # values of one path shown in a reason; the rest are counted


class RuleInvalid(ValueError):
    """A rule that cannot be activated, with its id and the compiler's (or the check's) message."""

    def __init__(self, rule_id: str, message: str) -> None:
        super().__init__(f"rule {rule_id}: {message}")
        self.rule_id = rule_id
        self.message = message


def referenced_paths(expression: str) -> tuple[str, ...]:
    """The input paths an expression reads (``items.hs_code`` for ``i.hs_code`` inside a
    macro over ``items``), so a decision can show what each rule saw."""
    code = _STRING_LITERAL.sub("''", expression)
    bindings = {var: path for path, var in _MACRO_BINDING.findall(code)}
    found: list[str] = []
    for match in _PATH.finditer(code):
        path = match.group(1)
        if code[match.end() : match.end() + 1] == "(":  # x.size(): size is a method
            path = path.rpartition(".")[0]
        head, _, rest = path.partition(".")
        if head in bindings:
            path = f"{bindings[head]}.{rest}" if rest else bindings[head]
            head = path.partition(".")[0]
        if path and head in _VARIABLES and head != "now" and path not in found:
            found.append(path)
    # "items" alone is implied by "items.hs_code"; keep the most specific paths.
    return tuple(p for p in found if not any(q.startswith(p + ".") for q in found))


@lru_cache(maxsize=4096)
def _names(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


def resolve(values: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path; a list on the way maps over its elements."""
    current: Any = values
    for name in _names(path):
        if type(current) is dict:  # the input is plain dicts: skip the ABC checks
            current = current.get(name)
        elif isinstance(current, list):
            current = [e.get(name) for e in current if isinstance(e, Mapping) and name in e]
        elif isinstance(current, Mapping):
            current = current.get(name)
        else:
            return None
    return current


def _shown(value: Any) -> str:
    if type(value) is str:
        return value
    if isinstance(value, list):
        head = [_shown(v) for v in value[:_MAX_SHOWN]]
        more = f" and {len(value) - _MAX_SHOWN} more" if len(value) > _MAX_SHOWN else ""
        return ", ".join(head) + more
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"
    if isinstance(value, Mapping):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return "unknown" if value is None else str(value)


@lru_cache(maxsize=4096)
def _template(template: str) -> tuple[str, ...]:
    """Text, path, text, path, ..., text: parsed once per reason template."""
    return tuple(_PLACEHOLDER.split(template))


class _Shown:
    """The inputs as reasons show them, each path resolved once per decision (the reason
    and the saw of several rules often name the same paths)."""

    __slots__ = ("_done", "_values")

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = values
        self._done: dict[str, str] = {}

    def __call__(self, path: str) -> str:
        shown = self._done.get(path)
        if shown is None:
            shown = self._done[path] = _shown(resolve(self._values, path))
        return shown

    def render(self, template: str) -> str:
        parts = _template(template)
        if len(parts) == 1:
            return template
        return "".join(self(part) if n % 2 else part for n, part in enumerate(parts))


def render(template: str, values: Mapping[str, Any]) -> str:
    return _Shown(values).render(template)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    definition: RuleDefinition
    expression: cel.Expression
    paths: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CompiledRuleSet:
    version: str
    definition: RuleSetDefinition
    rules: tuple[CompiledRule, ...]
    # All the rules' expressions, evaluated together (None: one by one).
    batch: cel.Batch | None = field(default=None, compare=False)
    # Whether any rule has a validity window (else every rule is always in force).
    windowed: bool = True

    @classmethod
    def compile(
        cls, version: str, definition: RuleSetDefinition, *, sample: Mapping[str, Any]
    ) -> CompiledRuleSet:
        """Type-checks and compiles every rule, then runs it on ``sample`` (the documented
        input with every optional field present): a field the input does not have, or a
        condition that is not a bool, is refused here rather than at decision time."""
        compiled: list[CompiledRule] = []
        activation = cel.activation(sample)
        for rule in definition.rules:
            try:
                expression = cel.Expression(rule.expression)
            except cel.CelError as exc:
                raise RuleInvalid(rule.id, str(exc)) from None
            outcome = expression.evaluate(activation)
            if outcome.error is not None:
                raise RuleInvalid(rule.id, f"fails on the documented input: {outcome.error}")
            for placeholder in _PLACEHOLDER.findall(rule.reason):
                if placeholder.split(".")[0] not in _VARIABLES:
                    raise RuleInvalid(rule.id, f"reason names an unknown input {{{placeholder}}}")
            compiled.append(CompiledRule(rule, expression, referenced_paths(rule.expression)))
        return cls(
            version,
            definition,
            tuple(compiled),
            cel.Batch([c.expression for c in compiled]),
            any(r.valid_from or r.valid_until for r in definition.rules),
        )


@dataclass(frozen=True, slots=True)
class RuleError:
    rule: str
    error: str


@dataclass(frozen=True, slots=True)
class Verdict:
    lane: Lane
    score: int
    reasons: list[LaneReason]
    errors: list[RuleError]
    randomly_selected: Lane | None

    @property
    def fired(self) -> list[str]:
        return [r.rule for r in self.reasons if r.rule not in NOT_RULES]


RANDOM_SELECTION = "random-selection"
NO_RISK = "no-risk-found"
# An officer's lane change, recorded among the reasons of the decision it changed.
OFFICER_OVERRIDE = "officer-override"
# Reasons that are not a risk rule firing: they have no selection or hit rate.
NOT_RULES = frozenset({RANDOM_SELECTION, NO_RISK, OFFICER_OVERRIDE})


def random_draw(declaration_id: uuid.UUID, seed: bytes) -> float:
    """A number in [0, 1) fixed by the declaration id and the secret seed: the same draw
    on every replay (audit), unknowable to a trader without the seed."""
    digest = hmac.new(seed, declaration_id.bytes, hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def random_lane(draw: float, rates: SelectionRates) -> Lane | None:
    if draw < rates.red:
        return Lane.RED
    if draw < rates.red + rates.yellow:
        return Lane.YELLOW
    return None


def _saw(rule: CompiledRule, shown: _Shown) -> dict[str, str]:
    return {path: shown(path) for path in rule.paths}


def _notable(
    rule_set: CompiledRuleSet, values: Mapping[str, Any], now: datetime
) -> list[tuple[CompiledRule, cel.Outcome]]:
    """The rules in force that fired or failed, in order (all others were evaluated too)."""
    activation = cel.activation(values)
    rules = rule_set.rules
    if rule_set.batch is None:
        found: list[tuple[CompiledRule, cel.Outcome]] = []
        for rule in rules:
            if rule.definition.in_force(now):
                outcome = rule.expression.evaluate(activation)
                if outcome.fired or outcome.error is not None:
                    found.append((rule, outcome))
        return found
    in_force = (
        [n for n, rule in enumerate(rules) if rule.definition.in_force(now)]
        if rule_set.windowed
        else None
    )
    return [(rules[n], outcome) for n, outcome in rule_set.batch.notable(activation, in_force)]


def evaluate(
    rule_set: CompiledRuleSet,
    values: Mapping[str, Any],
    *,
    now: datetime,
    draw: float,
    office: str,
) -> Verdict:
    reasons: list[LaneReason] = []
    errors: list[RuleError] = []
    score = 0
    shown = _Shown(values)
    for rule, outcome in _notable(rule_set, values, now):
        if outcome.error is not None:
            errors.append(RuleError(rule.definition.id, outcome.error))
        elif outcome.fired:
            score += rule.definition.weight
            reasons.append(
                LaneReason(
                    rule=rule.definition.id,
                    lane=rule.definition.lane,
                    explanation=shown.render(rule.definition.reason),
                    saw=_saw(rule, shown),
                )
            )
    lane = max((r.lane for r in reasons), key=SEVERITY.__getitem__, default=Lane.GREEN)
    rates = rule_set.definition.random_selection.rates(office)
    selected = random_lane(draw, rates)
    if selected is not None and SEVERITY[selected] > SEVERITY[lane]:
        lane = selected
        reasons.append(
            LaneReason(
                rule=RANDOM_SELECTION,
                lane=selected,
                explanation=f"Selected at random for a {selected.value} lane check "
                f"(office {office}: {rates.yellow:.1%} yellow, {rates.red:.1%} red).",
            )
        )
    else:
        selected = None
    if not reasons:
        reasons.append(
            LaneReason(
                rule=NO_RISK,
                lane=Lane.GREEN,
                explanation="No risk rule fired.",
            )
        )
    return Verdict(lane, score, reasons, errors, selected)


def most_severe(lanes: Sequence[Lane]) -> Lane:
    return max(lanes, key=SEVERITY.__getitem__, default=Lane.GREEN)
