from __future__ import annotations

from decimal import Decimal

from customs_shared.events.schemas import ItemFacts
from ipr_svc.screening.matching import Mark, find_hits


def item(
    line: int, description: str, hs_code: str = "61091000", brand: str | None = None
) -> ItemFacts:
    return ItemFacts(
        line=line,
        hs_code=hs_code,
        description=description,
        origin_country="CN",
        quantity=Decimal(1),
        unit="PCE",
        customs_value=Decimal(1),
        brand=brand,
    )


def test_mark_in_description_or_brand_hits_whole_words_only() -> None:
    marks = [Mark("r1", "Acme Sport", ["6109"])]
    hits = find_hits(
        [
            item(1, "T-shirts ACME sport, cotton"),
            item(2, "Plain shirts", brand="acme  SPORT"),
            item(3, "Acmesport shirts"),
            item(4, "Shirts by Acme"),
        ],
        marks,
    )
    assert [(h.record_id, h.item_line) for h in hits] == [("r1", 1), ("r1", 2)]


def test_hs_prefixes_limit_the_goods_a_mark_covers() -> None:
    marks = [Mark("r1", "Acme", ["6404"]), Mark("r2", "Acme", [])]
    hits = find_hits([item(1, "Acme shirts", hs_code="61091000")], marks)
    assert [h.record_id for h in hits] == ["r2"]
