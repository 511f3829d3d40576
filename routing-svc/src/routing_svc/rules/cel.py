"""The one place that knows the CEL engine (Google's cel-expr-python, the C++ runtime).
Everything else speaks of compiled expressions and their verdicts, so the engine can be
swapped without touching the rules' callers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
_BOOL, _DYN, _ERROR = cel.Type.BOOL, cel.Type.DYN, cel.Type.ERROR
# A batch reports which of its expressions hold as the bits of one CEL int (int64).
_BATCH_BITS = 62
# Well under the parser's limit on an expression's size (100,000 code points).
_BATCH_CHARS = 50_000


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
        if returns != _BOOL and returns != _DYN:
            raise CelError(f"a rule must be a condition (bool); this one is {returns.name()}")

    def evaluate(self, activation: Any) -> Outcome:
        result = self._compiled.eval(activation)
        kind = result.type()
        if kind == _BOOL:
            return FIRED if result.value() else NOT_FIRED
        if kind == _ERROR:
            return Outcome(fired=False, error=str(result.value()))
        return Outcome(fired=False, error=f"the rule gave a {kind.name()}, not a bool")


FIRED = Outcome(fired=True)
NOT_FIRED = Outcome(fired=False)


def _sum(terms: Sequence[str]) -> str:
    """A balanced sum: the parser limits nesting, and a chain of 50 additions is 50 deep."""
    if len(terms) == 1:
        return f"({terms[0]})"
    middle = len(terms) // 2
    return f"({_sum(terms[:middle])} + {_sum(terms[middle:])})"


@dataclass(frozen=True, slots=True)
class _Chunk:
    start: int
    end: int
    program: Any  # None: its expressions are evaluated one by one

    @property
    def everything(self) -> int:
        return (1 << (self.end - self.start)) - 1


class Batch:
    """Evaluates many expressions in one call into the engine instead of one call each
    (the calls, not the expressions, were most of a decision's time): each chunk of
    expressions is compiled into one program whose value is an int with bit n set when
    expression n holds. When a chunk's program fails (an expression errs or is not a bool),
    its expressions are evaluated one by one, so each outcome is exactly what
    ``Expression.evaluate`` gives."""

    __slots__ = ("_chunks", "expressions")

    def __init__(self, expressions: Sequence[Expression]) -> None:
        self.expressions = tuple(expressions)
        chunks: list[_Chunk] = []
        start = 0
        while start < len(self.expressions):
            end, chars = start, 0
            while end < len(self.expressions) and end - start < _BATCH_BITS:
                chars += len(self.expressions[end].source) + 20
                if end > start and chars > _BATCH_CHARS:
                    break
                end += 1
            chunks += self._compile(start, end)
            start = end
        self._chunks = tuple(chunks)

    def _compile(self, start: int, end: int) -> list[_Chunk]:
        if end - start == 1:
            return [_Chunk(start, end, None)]
        # Newlines: a rule may end with a // comment.
        terms = [
            f"(\n{self.expressions[n].source}\n) ? {1 << (n - start)} : 0"
            for n in range(start, end)
        ]
        try:
            return [_Chunk(start, end, _ENV.compile(_sum(terms)))]
        except RuntimeError:  # too deep or too long together: halve
            middle = (start + end) // 2
            return self._compile(start, middle) + self._compile(middle, end)

    def evaluate(self, activation: Any, indexes: Sequence[int]) -> list[Outcome]:
        """The outcomes of the expressions at ``indexes`` (ascending), in that order."""
        outcomes: list[Outcome] = []
        position = 0
        for chunk in self._chunks:
            wanted: list[int] = []
            while position < len(indexes) and indexes[position] < chunk.end:
                wanted.append(indexes[position])
                position += 1
            if not wanted:
                continue
            bits = chunk.program.eval(activation).value() if chunk.program is not None else None
            if type(bits) is int:
                outcomes += [FIRED if bits >> (n - chunk.start) & 1 else NOT_FIRED for n in wanted]
            else:
                outcomes += [self.expressions[n].evaluate(activation) for n in wanted]
        return outcomes

    def notable(
        self, activation: Any, indexes: Sequence[int] | None = None
    ) -> list[tuple[int, Outcome]]:
        """The expressions among ``indexes`` (ascending; all by default) that held or
        failed, with their outcomes, in order. Most expressions do not hold on most
        inputs: only the bits that are set are visited."""
        found: list[tuple[int, Outcome]] = []
        for chunk in self._chunks:
            if indexes is None:
                wanted: Sequence[int] = range(chunk.start, chunk.end)
                mask = chunk.everything
            else:
                wanted = [n for n in indexes if chunk.start <= n < chunk.end]
                mask = sum(1 << (n - chunk.start) for n in wanted)
                if not wanted:
                    continue
            bits = chunk.program.eval(activation).value() if chunk.program is not None else None
            if type(bits) is int:
                held = bits & mask
                while held:
                    lowest = held & -held
                    found.append((chunk.start + lowest.bit_length() - 1, FIRED))
                    held ^= lowest
                continue
            for n in wanted:
                outcome = self.expressions[n].evaluate(activation)
                if outcome is not NOT_FIRED:
                    found.append((n, outcome))
        return found


def activation(values: Mapping[str, Any]) -> Any:
    """Binds one input once, for all of a rule set's expressions to read."""
    return _ENV.Activation(values)
