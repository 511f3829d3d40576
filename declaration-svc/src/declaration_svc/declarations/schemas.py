from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from stdnum import iso6346
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.vn import mst

from customs_shared.events.schemas import DeclarantKind, ItemFacts, Lane, LaneReason
from customs_shared.text import FreeText

Money = Annotated[Decimal, Field(ge=0, max_digits=20, decimal_places=4)]
Quantity = Annotated[Decimal, Field(gt=0, max_digits=20, decimal_places=4)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Declarant(_Strict):
    # Read back from a row too (Declaration.declarant), where it was stored validated.
    model_config = ConfigDict(from_attributes=True)

    kind: DeclarantKind
    name: FreeText = Field(min_length=1, max_length=300)
    tax_code: str | None = Field(
        default=None,
        description="Enterprise tax code (MST): 10 digits, or 10 digits + '-' + 3 for a branch.",
    )

    @field_validator("tax_code")
    @classmethod
    def _valid_tax_code(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return str(mst.format(mst.validate(value)))
        except StdnumError as exc:
            raise ValueError(f"not a valid Vietnamese tax code: {exc}") from exc

    @model_validator(mode="after")
    def _enterprise_has_tax_code(self) -> Self:
        if self.kind is DeclarantKind.ENTERPRISE and self.tax_code is None:
            raise ValueError("an enterprise declarant needs a tax_code")
        return self


class ItemIn(_Strict):
    hs_code: str = Field(pattern=r"^\d{8}$", description="8-digit HS code (AHTN).")
    description: FreeText = Field(min_length=1, max_length=500)
    origin_country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2.")
    quantity: Quantity
    unit: FreeText = Field(min_length=1, max_length=16)
    customs_value: Money
    brand: FreeText | None = Field(default=None, max_length=200)


class DeclarationIn(_Strict):
    declarant: Declarant
    declaration_type: Literal["import", "export"]
    type_code: str = Field(
        pattern=r"^[A-Z][0-9A-Z]{2}$", description="Type of trade, e.g. A11 or E21."
    )
    customs_office: str = Field(pattern=r"^[0-9A-Z]{2,8}$")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code.")
    items: list[ItemIn] = Field(min_length=1, max_length=500)
    containers: list[str] = Field(default_factory=list, max_length=200)
    signature: str | None = Field(
        default=None,
        max_length=90_000,
        description="Detached CMS signature of the declaration, base64 (DER).",
    )

    @field_validator("containers")
    @classmethod
    def _valid_containers(cls, values: list[str]) -> list[str]:
        try:
            return [str(iso6346.compact(iso6346.validate(v))) for v in values]
        except StdnumError as exc:
            raise ValueError(f"not a valid ISO 6346 container number: {exc}") from exc

    @field_validator("signature")
    @classmethod
    def _base64(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise ValueError("signature must be base64") from exc
        return value


class DeclarationAccepted(BaseModel):
    id: uuid.UUID
    status: str
    status_url: str


class ItemOut(ItemFacts):
    """An item as the API shows it: the same facts the submitted event carries."""

    model_config = ConfigDict(from_attributes=True)


class TimelineEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    status: str
    event: str
    detail: str


class DeclarationOut(BaseModel):
    """One declaration as the API shows it, read from its row."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    status: str
    lane: Lane | None
    lane_reasons: list[LaneReason]
    rule_set_version: str | None
    signature_status: str | None
    ipr_outcome: str | None
    declarant: Declarant
    declaration_type: str
    type_code: str
    customs_office: str
    currency: str
    total_customs_value: Decimal
    containers: list[str]
    items: list[ItemOut]
    timeline: list[TimelineEntryOut]
    created_at: datetime
    updated_at: datetime


class DeclarationSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    status: str
    lane: Lane | None
    declaration_type: str
    total_customs_value: Decimal
    currency: str
    created_at: datetime


class DeclarationPage(BaseModel):
    items: list[DeclarationSummary]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )
