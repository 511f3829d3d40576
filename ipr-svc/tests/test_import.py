"""Import of records still valid from the earlier system, on a real PostgreSQL."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.messaging.models import OutboxEvent
from ipr_svc.records import service
from ipr_svc.records.errors import MalformedImport
from ipr_svc.records.schemas import ImportReport
from ipr_svc.screening import service as screening
from ipr_svc.screening.models import IprRecord, IprScreening
from tests.support.factories import declaration_submitted, item_facts
from tests.support.ipr_index import index_from_table

pytestmark = pytest.mark.integration

TODAY = date(2026, 11, 26)
VALID = {
    "registration_number": "VN-4-0123456",
    "right_type": "trademark",
    "owner": "Nike Innovate C.V.",
    "brands": ["Nike", "Air Jordan"],
    "hs_headings": ["6404", "6403"],
    "authorised_importers": ["0104567890"],
    "offices": [],
    "valid_from": "2020-01-01",
    "valid_until": "2030-01-01",
}
ROWS: list[dict[str, Any]] = [
    VALID,
    {**VALID, "registration_number": "VN-4-0000001", "valid_until": "2025-12-31"},  # expired
    {**VALID, "brands": ["Nike Air"], "hs_headings": ["6402"], "valid_until": "2031-06-30"},
    {**VALID, "registration_number": "VN-4-0000002", "hs_headings": ["64"]},  # malformed
    {**VALID, "registration_number": "VN-4-0000003", "authorised_importers": ["123"]},
    {"registration_number": "VN-4-0000004", "owner": "Acme"},  # fields missing
    {
        **VALID,
        "registration_number": "GI-00012",
        "right_type": "geographical_indication",
        "owner": "Hội sản xuất nước mắm Phú Quốc",
        "brands": ["Phú Quốc"],
        "hs_headings": ["2103"],
        "authorised_importers": [],
        "offices": ["01B1", "02CI"],
    },
]


async def run(
    sessions: async_sessionmaker[AsyncSession], rows: list[dict[str, Any]]
) -> ImportReport:
    async with sessions() as session, session.begin():
        return await service.import_records(session, rows, today=TODAY)


async def test_valid_expired_duplicate_and_malformed_rows_imported_twice_alike(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = await run(sessions, ROWS)
    outcomes = [(r.row, r.outcome.value) for r in first.rows]
    assert outcomes == [
        (1, "imported"),
        (2, "skipped"),
        (3, "merged"),
        (4, "rejected"),
        (5, "rejected"),
        (6, "rejected"),
        (7, "imported"),
    ]
    reasons = {r.row: r.reason or "" for r in first.rows}
    assert "expired on 2025-12-31" in reasons[2]
    assert "hs_headings.0" in reasons[4]
    assert "tax code" in reasons[5]
    assert "right_type" in reasons[6]
    assert (first.imported, first.merged, first.skipped, first.rejected) == (2, 1, 1, 3)

    second = await run(sessions, ROWS)
    assert [r.outcome.value for r in second.rows][:3] == ["unchanged", "skipped", "merged"]
    assert (second.imported, second.updated, second.unchanged) == (0, 0, 2)

    async with sessions() as session:
        records = (
            await session.scalars(select(IprRecord).order_by(IprRecord.registration_number))
        ).all()
        events = (await session.scalars(select(OutboxEvent.payload))).all()
    nike = records[1]
    assert [r.registration_number for r in records] == ["GI-00012", "VN-4-0123456"]
    assert nike.brands == ["Nike", "Air Jordan", "Nike Air"]
    assert nike.hs_headings == ["6404", "6403", "6402"]
    assert nike.valid_until.date() == date(2031, 6, 30)
    assert records[0].offices == ["01B1", "02CI"]
    published = [json.loads(p) for p in events]
    assert len(published) == 2  # the second upload changed nothing, so published nothing
    assert {p["type"] for p in published} == {"customs.ipr.record-changed.v1"}


async def test_a_changed_row_updates_its_record(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await run(sessions, [VALID])
    report = await run(sessions, [{**VALID, "offices": ["01B1"]}])
    assert [r.outcome.value for r in report.rows] == ["updated"]


def test_csv_rows_take_lists_separated_by_semicolons() -> None:
    body = (
        b"registration_number,right_type,owner,brands,hs_headings,authorised_importers,"
        b"offices,valid_from,valid_until\r\n"
        b"VN-4-0123456,trademark,Nike Innovate C.V.,Nike;Air Jordan,6404;6403,0104567890,,"
        b"2020-01-01,2030-01-01\r\n"
    )
    [row] = service.parse_csv(body)
    assert row["brands"] == ["Nike", "Air Jordan"]
    assert row["hs_headings"] == ["6404", "6403"]
    assert row["offices"] == []
    assert row["valid_until"] == "2030-01-01"


def test_a_body_that_is_no_import_is_refused() -> None:
    with pytest.raises(MalformedImport):
        service.parse_json(b'{"rows": []}')
    with pytest.raises(MalformedImport):
        service.parse_csv(b"\xff\xfe")


@pytest.mark.parametrize(
    ("brand", "hs_code", "importer", "hit"),
    [
        ("Nike", "64041100", "0100109106", True),
        ("nlke", "64041100", "0100109106", True),  # misspelt
        ("NIKE", "64041100", "0100109106", True),  # other case
        ("N1KE", "64041100", "0100109106", True),  # look-alike digit
        ("Air Jordän", "64041100", "0100109106", True),  # diacritics
        ("Nike", "64041100", "0104567890", False),  # authorised importer
        ("Nike", "61091000", "0100109106", False),  # a heading the record does not cover
    ],
)
async def test_imported_records_screen_submitted_declarations(
    sessions: async_sessionmaker[AsyncSession],
    brand: str,
    hs_code: str,
    importer: str,
    hit: bool,
) -> None:
    await run(sessions, [{**VALID, "valid_from": "2026-01-01"}])
    data = declaration_submitted(
        declarant_tax_code=importer,
        items=[item_facts(brand=brand, hs_code=hs_code, description="Sports shoes")],
    )
    index = await index_from_table(sessions)
    async with sessions() as session, session.begin():
        await screening.screen_declaration(session, data, index)
    async with sessions() as session:
        screened = await session.get(IprScreening, data.declaration_id)
    assert screened is not None
    assert screened.outcome == ("hit" if hit else "clear")
    if hit:
        [found] = screened.hits
        assert (found["text"], found["item_line"]) == (brand, 1)


@pytest.mark.parametrize(
    "body",
    [b'{"records": ' + b"[" * 200_000 + b"]" * 200_000 + b"}", b'{"a":' * 100_000 + b"}"],
    ids=["nested-arrays", "nested-objects"],
)
def test_json_nested_too_deep_is_a_malformed_import_not_a_crash(body: bytes) -> None:
    with pytest.raises(MalformedImport):
        service.parse_json(body)
