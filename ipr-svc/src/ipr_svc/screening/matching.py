"""Matches of a declaration's items against the active records, as the hits events carry."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from customs_shared.db import utcnow
from customs_shared.events.schemas import DeclarationSubmitted, IprHit
from ipr_svc.screening.index import ActiveRecord, Match, RecordIndex


def screen(
    index: RecordIndex, submitted: DeclarationSubmitted, *, at: datetime | None = None
) -> tuple[list[Match], list[IprHit]]:
    """The matches (with their records) and the hits the event carries, by item line;
    records whose validity has ended by ``at`` (now, by default) hit nothing."""
    matches = index.match(
        submitted.items,
        office=submitted.customs_office,
        importer=submitted.declarant_tax_code,
        at=at or utcnow(),
    )
    return matches, sorted(
        (
            IprHit(
                record_id=m.record.record_id,
                item_line=m.item_line,
                matched=m.mark,
                text=m.matched,
                score=round(m.score, 4),
                why=m.why,
            )
            for m in matches
        ),
        key=lambda h: (h.item_line, h.record_id),
    )


def build_index(records: Iterable[ActiveRecord]) -> RecordIndex:
    index = RecordIndex()
    for record in records:
        index.put(record)
    return index
