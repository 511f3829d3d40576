"""Code lists a declaration is checked against: HS 2022 subheadings (and the HS 2017 ones
HS 2022 deleted, named as such), ISO 3166 countries,
ISO 4217 currencies, UN/ECE Recommendation 20 units and Incoterms 2020.

Each check returns the normalised code or raises ValueError with a message a broker
can act on; pydantic turns that into one entry of the 422 problem's ``errors``."""

from __future__ import annotations

import csv
from enum import StrEnum
from functools import cache
from pathlib import Path

import pycountry

_HERE = Path(__file__).parent

# A statistical pseudo-code in the nomenclature file, not a subheading.
_NOT_GOODS = frozenset({"999999"})
# ISO 4217 codes that name no money: "no currency" and the code reserved for tests.
_NOT_MONEY = frozenset({"XXX", "XTS"})
# PCE ("piece") is no longer in Recommendation 20 (H87 replaced it), but VNACCS still
# declares goods by the piece with it, so a declaration may carry it.
_VNACCS_UNITS = frozenset({"PCE"})


class Incoterm(StrEnum):
    """The eleven Incoterms 2020 rules (ICC)."""

    EXW = "EXW"
    FCA = "FCA"
    CPT = "CPT"
    CIP = "CIP"
    DAP = "DAP"
    DPU = "DPU"
    DDP = "DDP"
    FAS = "FAS"
    FOB = "FOB"
    CFR = "CFR"
    CIF = "CIF"


@cache
def hs2022_subheadings() -> frozenset[str]:
    with (_HERE / "hs2022.csv").open(newline="", encoding="utf-8") as file:
        return frozenset(
            row["hscode"]
            for row in csv.DictReader(file)
            if row["level"] == "6" and row["hscode"] not in _NOT_GOODS
        )


@cache
def hs2017_deleted() -> frozenset[str]:
    """HS 2017 subheadings that HS 2022 deleted (the file's ``#`` lines name its source)."""
    with (_HERE / "hs2017-deleted.csv").open(newline="", encoding="utf-8") as file:
        rows = (line for line in file if not line.startswith("#"))
        return frozenset(row["hscode"] for row in csv.DictReader(rows))


@cache
def rec20_units() -> frozenset[str]:
    """Every unit code of Recommendation 20 (the file's ``#`` lines name its source)."""
    with (_HERE / "rec20.csv").open(newline="", encoding="utf-8") as file:
        rows = (line for line in file if not line.startswith("#"))
        return frozenset(row["code"] for row in csv.DictReader(rows))


def check_hs_code(code: str) -> str:
    if code[:6] in hs2017_deleted():
        raise ValueError(
            f"{code[:6]} (the first six digits) was a subheading of HS 2017 that HS 2022"
            " deleted; declare the HS 2022 subheading the goods fall under now"
        )
    if code[:6] not in hs2022_subheadings():
        raise ValueError(f"{code[:6]} (the first six digits) is not a subheading of HS 2022")
    return code


@cache
def countries() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes, upper case (as the schema's pattern has them): a set
    looked up on every item, where pycountry's lookup folds case and indexes lazily."""
    return frozenset(country.alpha_2 for country in pycountry.countries)


@cache
def currencies() -> frozenset[str]:
    """ISO 4217 alphabetic codes that name money."""
    return frozenset(currency.alpha_3 for currency in pycountry.currencies) - _NOT_MONEY


def check_country(code: str) -> str:
    if code not in countries():
        raise ValueError(f"{code} is not an ISO 3166-1 alpha-2 country code")
    return code


def check_currency(code: str) -> str:
    if code not in currencies():
        raise ValueError(f"{code} is not an ISO 4217 currency code")
    return code


def check_unit(code: str) -> str:
    if code not in rec20_units() and code not in _VNACCS_UNITS:
        raise ValueError(
            f"{code} is not a unit code of UN/ECE Recommendation 20 (e.g. H87, KGM, LTR, MTR)"
        )
    return code
