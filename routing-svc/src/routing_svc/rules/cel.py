"""The one place that knows the CEL engine (Google's cel-expr-python, the C++ runtime).
Everything else speaks of compiled expressions and their verdicts, so the engine can be
swapped without touching the rules' callers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cel_expr_python import cel

_MAP = cel.Type.Map(cel.Type.STRING, cel.Type.DYN)

# The variables a rule may use; docs/routing-rules.md documents their fields.
VARIABLES: dict[str, Any] = {
    "declaration": _MAP,
    "items": cel.Type.List(_MAP),
    "trader": _MAP,
    "screening": _MAP,
    "intelligence": _MAP,
    "risk": _MAP,
    "now": cel.Type.TIMESTAMP,
}

_ENV = cel.NewEnv(variables=VARIABLES)


class CelError(ValueError):
    """An expression that does not parse or type-check; the message is the compiler's."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """One rule's result on one input: whether it fired, or why it could not tell."""

    fired: bool
    error: str | None = None


class Expression:
    __slots__ = ("_compiled", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        try:
            self._compiled = _ENV.compile(source)
        except RuntimeError as exc:  # the engine reports every compile failure this way
            raise CelError(str(exc).removeprefix("INVALID_ARGUMENT: ")) from None
        returns = self._compiled.return_type()
        if returns != cel.Type.BOOL and returns != cel.Type.DYN:
            raise CelError(f"a rule must be a condition (bool); this one is {returns.name()}")

    def evaluate(self, activation: Any) -> Outcome:
        result = self._compiled.eval(activation)
        kind = result.type()
        if kind == cel.Type.BOOL:
            return Outcome(fired=bool(result.value()))
        if kind == cel.Type.ERROR:
            return Outcome(fired=False, error=str(result.value()))
        return Outcome(fired=False, error=f"the rule gave a {kind.name()}, not a bool")


def activation(values: Mapping[str, Any]) -> Any:
    """Binds one input once, for all of a rule set's expressions to read."""
    return _ENV.Activation(values)
