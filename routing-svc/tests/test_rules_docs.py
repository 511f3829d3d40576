"""docs/routing-rules.md documents exactly the input rules see, and is current."""

from __future__ import annotations

from pathlib import Path

from routing_svc.rules import docs, sample


def test_every_input_field_is_documented_and_every_documented_field_exists() -> None:
    produced = docs.produced_paths(sample.values())
    assert produced - set(docs.FIELDS) == set(), "document these fields in rules/docs.py"
    assert set(docs.FIELDS) - produced == set(), "these documented fields are gone"


def test_committed_rules_document_is_current() -> None:
    committed = Path(__file__).resolve().parents[2] / "docs" / "routing-rules.md"
    assert committed.read_text() == docs.render(), (
        "regenerate: uv run python -m routing_svc.rules.docs > docs/routing-rules.md"
    )
