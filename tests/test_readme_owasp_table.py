"""The README's OWASP API Security Top 10 table names tests: each must exist, so the table
cannot promise a test that was renamed or removed."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SECTION = "#### Hostile input: the OWASP API Security Top 10 (2023)"


def _table() -> str:
    readme = (REPO / "README.md").read_text()
    start = readme.index(SECTION)
    end = readme.index("\n#", start + len(SECTION))
    return readme[start:end]


def _named_tests(table: str) -> list[tuple[str, str]]:
    """(file, test) pairs; ``::name`` right after a named pair is another test of that file."""
    named: list[tuple[str, str]] = []
    for row in table.splitlines():
        current = ""
        for path, name in re.findall(r"`(?:([\w./-]+\.py))?::(test_\w+)(?:\[[^\]]*\])?`", row):
            current = path or current
            assert current, f"{name} names no file in: {row[:80]}"
            named.append((current, name))
    return named


def _defined(path: str) -> set[str]:
    tree = ast.parse((REPO / path).read_text())
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def test_every_owasp_risk_has_a_row() -> None:
    table = _table()
    for risk in range(1, 11):
        assert f"| API{risk} " in table


def test_every_test_the_owasp_table_names_exists() -> None:
    named = _named_tests(_table())
    assert len(named) > 50
    missing = [
        f"{path}::{name}"
        for path, name in named
        if not (REPO / path).exists() or name not in _defined(path)
    ]
    assert missing == []
