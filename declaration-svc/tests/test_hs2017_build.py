"""The build of hs2017-deleted.csv from a CN structure workbook, on small workbooks of the
same shape: column B read (shared and plain cells), the HS 2017 count enforced."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from declaration_svc.reference import hs2017_build
from declaration_svc.reference.hs2017_build import MEMBER, build, hs2017_subheadings

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _workbook(column_b: list[str]) -> bytes:
    """A one-sheet workbook: column A a sort key, column B the given text, as shared
    strings except for plain digits, as a spreadsheet writes them."""
    strings = [text for text in column_b if not text.isdigit()]
    shared = "".join(f"<si><t>{text}</t></si>" for text in strings)
    cells = []
    for row, text in enumerate(column_b, start=1):
        key = f'<c r="A{row}" t="s"><v>0</v></c>'
        if text.isdigit():
            cells.append(f'<row r="{row}">{key}<c r="B{row}"><v>{text}</v></c></row>')
        else:
            index = strings.index(text)
            cells.append(f'<row r="{row}">{key}<c r="B{row}" t="s"><v>{index}</v></c></row>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as book:
        book.writestr("xl/sharedStrings.xml", f'<sst xmlns="{_MAIN}">{shared}</sst>')
        sheet = f'<worksheet xmlns="{_MAIN}"><sheetData>{"".join(cells)}</sheetData></worksheet>'
        book.writestr("xl/worksheets/sheet1.xml", sheet)
    return out.getvalue()


def test_six_digit_prefixes_of_the_cn_codes_are_the_subheadings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hs2017_build, "HS2017_SUBHEADINGS", 3)
    # Headers, sections, chapters and headings are not codes; 8525 80 30 and 85258091 are
    # two CN codes of one subheading; 970110 is a cell written as a number.
    workbook = _workbook(
        [
            *("OFFICIAL CODE", "I", "01", "0101", "0101 29", "0101 29 10"),
            *("8525 80 30", "85258091", "970110"),
        ]
    )
    assert hs2017_subheadings(workbook) == {"010129", "852580", "970110"}


def test_a_workbook_without_the_hs_2017_count_is_refused() -> None:
    with pytest.raises(ValueError, match="not the 5387 of HS 2017"):
        hs2017_subheadings(_workbook(["0101 29 10", "8525 80 30"]))


def test_the_build_keeps_the_codes_hs_2022_no_longer_has(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hs2017_build, "HS2017_SUBHEADINGS", 3)
    wheel = tmp_path / "odoo12_addon_l10n_es_intrastat_report-9.9-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as package:
        package.writestr(MEMBER, _workbook(["0101 29 10", "8525 80 30", "85171200"]))
    lines = build(wheel).splitlines()
    assert "odoo12-addon-l10n-es-intrastat-report 9.9 (AGPL-3 licence)" in lines[1]
    assert lines[3:] == ["hscode", "851712", "852580"]
