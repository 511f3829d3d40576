"""Risk inputs as officers write them and as the API shows them. The stored values
have the shapes lanes/evidence.py reads."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

ComplianceLevel = Literal["high", "medium", "low", "non_compliant"]
RiskLevel = Literal["low", "medium", "high"]
# An HS heading (4 digits), subheading (6) or Vietnamese tariff line (8).
HsCode = Annotated[str, StringConstraints(pattern=r"^(?:[0-9]{4}|[0-9]{6}|[0-9]{8})$")]
# Reference prices are kept per subheading or tariff line, as declarations' items are matched.
PricedHsCode = Annotated[str, StringConstraints(pattern=r"^(?:[0-9]{6}|[0-9]{8})$")]
# A UN/ECE Recommendation 20 unit code, as items declare it (PCE, KGM, LTR …).
UnitCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2,3}$")]
Note = Annotated[str, StringConstraints(max_length=500, strip_whitespace=True)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Stored(BaseModel):
    version: int = Field(description="Bumped by every change; send it as If-Match to update.")
    updated_by: str
    updated_at: datetime


class TraderProfileIn(_Input):
    compliance_level: ComplianceLevel
    priority: bool = Field(
        default=False, description="A priority enterprise / authorised economic operator."
    )
    past_violations: int = Field(default=0, ge=0, le=100_000)
    note: Note = ""


class TraderProfileOut(TraderProfileIn, _Stored):
    tax_code: str


class TraderProfilePage(BaseModel):
    items: list[TraderProfileOut]
    next_after: str | None = Field(description="Pass as ``after`` for the next page.")


class RiskListEntryIn(_Input):
    level: RiskLevel
    reason: Note = ""


class CountryRiskOut(RiskListEntryIn, _Stored):
    code: str = Field(description="ISO 3166-1 alpha-2 country code.")


class CountryRiskPage(BaseModel):
    items: list[CountryRiskOut]
    next_after: str | None = Field(description="Pass as ``after`` for the next page.")


class HsRiskOut(RiskListEntryIn, _Stored):
    code: str = Field(description="HS heading, subheading or 8-digit tariff line.")


class HsRiskPage(BaseModel):
    items: list[HsRiskOut]
    next_after: str | None = Field(description="Pass as ``after`` for the next page.")


class ReferencePriceIn(_Input):
    unit_price_vnd: Decimal = Field(
        gt=0,
        max_digits=24,
        decimal_places=4,
        description="Reference price of one unit in VND; a declared unit price below the "
        "rules' share of it is a valuation anomaly.",
    )
    source: Note = ""


class ReferencePriceOut(ReferencePriceIn, _Stored):
    hs_code: str
    origin_country: str
    unit: str


class ReferencePricePage(BaseModel):
    items: list[ReferencePriceOut]
    next_after: str | None = Field(description="Pass as ``after`` for the next page.")
