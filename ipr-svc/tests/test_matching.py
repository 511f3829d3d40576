from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from customs_shared.events.schemas import ItemFacts
from ipr_svc.screening.index import ActiveRecord, RecordIndex
from ipr_svc.screening.matching import build_index
from ipr_svc.screening.normalise import fold
from tests.support.ipr_labelled import RECORDS, evaluate

AUTHORISED = "0104567890"


def item(description: str, hs_code: str = "42022100", brand: str | None = None) -> ItemFacts:
    return ItemFacts(
        line=1,
        hs_code=hs_code,
        description=description,
        origin_country="CN",
        quantity=Decimal(1),
        unit="PCE",
        customs_value=Decimal(1),
        brand=brand,
    )


def lv_index(offices: frozenset[str] = frozenset()) -> RecordIndex:
    return build_index(
        [
            ActiveRecord(
                "lv",
                "LV-VN",
                ("Louis Vuitton", "LV"),
                frozenset({"4202"}),
                frozenset({AUTHORISED}),
                offices,
            )
        ]
    )


def hit_ids(index: RecordIndex, entry: ItemFacts, importer: str | None = None) -> list[str]:
    return [m.record.record_id for m in index.match([entry], office="01B1", importer=importer)]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Trung Nguyên", "trungnguyen"),
        ("TRUNG-NGUYEN", "trungnguyen"),
        ("Đồng Tháp", "dongthap"),
        ("N1KE", "nlke"),
        ("nike", "nlke"),
        ("L0UIS  VUITT0N!", "loulsvultton"),
    ],
)
def test_folding_meets_disguises(text: str, key: str) -> None:
    assert fold(text) == key


@pytest.mark.parametrize(
    ("brand", "description", "why"),
    [
        ("Louis Vuitton", "Handbags", "alias"),
        ("LOUIS VUITTON", "Handbags", "alias"),
        ("L0UIS VU1TTON", "Handbags", "alias"),
        ("Louìs Vuítton", "Handbags", "alias"),
        ("Luois Vuitton", "Handbags", "fuzzy"),
        ("Louis Vuiton", "Handbags", "fuzzy"),
        (None, "Leather handbags louis-vuitton monogram", "alias"),
    ],
)
def test_a_counterfeit_brand_hits_in_each_disguise(
    brand: str | None, description: str, why: str
) -> None:
    [match] = lv_index().match([item(description, brand=brand)], office="01B1", importer=None)
    assert (match.record.record_id, match.mark, match.why) == ("lv", "Louis Vuitton", why)
    assert (match.score == 1.0) == (why == "alias")


def test_an_authorised_importer_an_unrelated_heading_and_other_offices_are_not_hit() -> None:
    assert hit_ids(lv_index(), item("Handbags", brand="Louis Vuitton"), AUTHORISED) == []
    assert hit_ids(lv_index(), item("T-shirts", "61091000", brand="Louis Vuitton")) == []
    assert hit_ids(lv_index(frozenset({"02CI"})), item("Handbags", brand="LV")) == []
    assert hit_ids(lv_index(frozenset({"01B1"})), item("Handbags", brand="LV")) == ["lv"]


def test_short_marks_match_exactly_only() -> None:
    index = build_index([ActiveRecord("nike", "N", ("Nike",), frozenset({"6404"}))])
    assert hit_ids(index, item("Nice shoes", "64041100")) == []
    assert hit_ids(index, item("Shoes", "64041100", brand="N1KE")) == ["nike"]


def test_a_replaced_or_removed_record_leaves_no_trace() -> None:
    index = lv_index()
    index.put(ActiveRecord("lv", "LV-VN", ("Monogram",), frozenset({"4202"})))
    assert hit_ids(index, item("Handbags", brand="Louis Vuitton")) == []
    assert hit_ids(index, item("Handbags", brand="Monogramm")) == ["lv"]
    index.remove("lv")
    assert (len(index), hit_ids(index, item("Handbags", brand="Monogram"))) == (0, [])


def test_precision_and_recall_on_the_labelled_set() -> None:
    scores = evaluate(build_index(RECORDS))
    assert scores.misses == ()
    assert scores.false_alarms == ()
    assert (scores.precision, scores.recall) == (1.0, 1.0)


def test_a_record_past_its_validity_hits_nothing_before_the_expiry_job_runs() -> None:
    ends = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
    index = build_index(
        [ActiveRecord("lv", "LV-VN", ("Louis Vuitton",), frozenset({"4202"}), valid_until=ends)]
    )
    handbags = [item("Handbags", brand="Louis Vuitton")]
    before = index.match(handbags, office="01B1", importer=None, at=ends - timedelta(seconds=1))
    after = index.match(handbags, office="01B1", importer=None, at=ends)
    assert [m.record.record_id for m in before] == ["lv"]
    assert after == []
