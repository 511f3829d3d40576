"""First matching rule: a recorded mark named in an item's brand or description,
on goods under one of the record's HS headings. Fuzzy matching comes later."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from customs_shared.events.schemas import IprHit, ItemFacts


@dataclass(frozen=True, slots=True)
class Mark:
    record_id: str
    mark: str
    hs_prefixes: Sequence[str]


def _words(text: str) -> str:
    return " " + " ".join(re.findall(r"\w+", text.casefold())) + " "


def find_hits(items: Iterable[ItemFacts], marks: Sequence[Mark]) -> list[IprHit]:
    hits: list[IprHit] = []
    for item in items:
        text = _words(f"{item.brand or ''} {item.description}")
        for mark in marks:
            if mark.hs_prefixes and not item.hs_code.startswith(tuple(mark.hs_prefixes)):
                continue
            if _words(mark.mark) in text:
                hits.append(
                    IprHit(record_id=mark.record_id, item_line=item.line, matched=mark.mark)
                )
    return hits
