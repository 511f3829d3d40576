from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from declaration_svc.declarations.schemas import CurrencyCode


class RateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: CurrencyCode
    valid_from: date = Field(description="First declaration date the rate applies to.")
    vnd_per_unit: Decimal = Field(gt=0, max_digits=20, decimal_places=6)

    @field_validator("currency")
    @classmethod
    def _not_vnd(cls, value: str) -> str:
        if value == "VND":
            raise ValueError("VND needs no exchange rate")
        return value


class RatesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rates: list[RateIn] = Field(min_length=1, max_length=1000)


class RatesLoaded(BaseModel):
    loaded: int = Field(
        description="Rates stored; a rate for a loaded (currency, date) replaces it."
    )


class RateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    currency: str
    valid_from: date
    vnd_per_unit: Decimal
    loaded_by: str
    loaded_at: datetime
