from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from stdnum import iso6346
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.vn import mst

from customs_shared.events.schemas import DeclarantKind, ItemFacts, Lane, LaneReason
from customs_shared.text import FreeText
from declaration_svc.reference.codes import (
    Incoterm,
    check_country,
    check_currency,
    check_hs_code,
    check_unit,
)

Money = Annotated[Decimal, Field(ge=0, max_digits=20, decimal_places=4)]
Quantity = Annotated[Decimal, Field(gt=0, max_digits=20, decimal_places=4)]
CountryCode = Annotated[
    str,
    Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2."),
    AfterValidator(check_country),
]
CurrencyCode = Annotated[
    str,
    Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code."),
    AfterValidator(check_currency),
]
# The latest time zone is UTC+14: a date that is not yet today anywhere is in the future.
_LATEST_UTC_OFFSET = timedelta(hours=14)


def _not_in_future(value: date) -> date:
    today_somewhere = (datetime.now(UTC) + _LATEST_UTC_OFFSET).date()
    if value > today_somewhere:
        raise ValueError(f"{value.isoformat()} is in the future")
    return value


PastDate = Annotated[date, AfterValidator(_not_in_future)]


def _valid_tax_code(value: str | None) -> str | None:
    if value is None:
        return None
    return _normal_tax_code(value)


# A few thousand enterprises and brokers declare most of the goods: their codes are
# checked once, not on every declaration (a refused code is not kept).
@lru_cache(maxsize=8192)
def _normal_tax_code(value: str) -> str:
    try:
        return str(mst.format(mst.validate(value)))
    except StdnumError as exc:
        raise ValueError(f"not a valid Vietnamese tax code: {exc}") from exc


TaxCode = Annotated[
    str,
    AfterValidator(_valid_tax_code),
    Field(description="Enterprise tax code (MST): 10 digits, or 10 digits + '-' + 3 for a branch."),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Declarant(_Strict):
    # Read back from a row too (Declaration.declarant), where it was stored validated.
    model_config = ConfigDict(from_attributes=True)

    kind: DeclarantKind
    name: FreeText = Field(min_length=1, max_length=300)
    tax_code: TaxCode | None = None

    @model_validator(mode="after")
    def _enterprise_has_tax_code(self) -> Self:
        if self.kind is DeclarantKind.ENTERPRISE and self.tax_code is None:
            raise ValueError("an enterprise declarant needs a tax_code")
        return self


class Party(_Strict):
    """A broker (customs agent) acting for the declarant."""

    model_config = ConfigDict(from_attributes=True)

    tax_code: TaxCode
    name: FreeText = Field(min_length=1, max_length=300)


class TransportMode(StrEnum):
    """Mode of transport at the border (WCO data element 7/4, UN/ECE Rec 19)."""

    SEA = "sea"
    RAIL = "rail"
    ROAD = "road"
    AIR = "air"
    POST = "post"
    MULTIMODAL = "multimodal"
    FIXED_INSTALLATION = "fixed_installation"
    INLAND_WATERWAY = "inland_waterway"


class Transport(_Strict):
    model_config = ConfigDict(from_attributes=True)

    mode: TransportMode
    means_id: FreeText | None = Field(
        default=None, max_length=64, description="Vessel IMO number or name, flight, plate."
    )
    transport_document: FreeText | None = Field(
        default=None, max_length=35, description="Bill of lading or air waybill number."
    )
    transport_document_date: PastDate | None = None


class Countries(_Strict):
    model_config = ConfigDict(from_attributes=True)

    export: CountryCode | None = Field(default=None, description="Country of export (dispatch).")
    origin: CountryCode | None = Field(default=None, description="Country of origin of the goods.")
    trading: CountryCode | None = Field(default=None, description="Country of the trading partner.")


class Invoice(_Strict):
    model_config = ConfigDict(from_attributes=True)

    number: FreeText = Field(min_length=1, max_length=50)
    date: PastDate
    currency: CurrencyCode | None = Field(
        default=None, description="When given, the declaration's currency."
    )
    total: Money = Field(description="Equals the sum of the items' customs values.")


class PreferentialOrigin(_Strict):
    """A claim of preferential origin under a trade agreement, with its proof."""

    form: str = Field(
        pattern=r"^[A-Z0-9][A-Z0-9.\-]{0,9}$",
        description="Form of the certificate of origin, e.g. D (ATIGA), E (ACFTA), EUR.1.",
    )
    certificate_number: FreeText = Field(min_length=1, max_length=50)
    certificate_date: PastDate | None = None


class ItemIn(_Strict):
    hs_code: Annotated[str, AfterValidator(check_hs_code)] = Field(
        pattern=r"^\d{8}$",
        description="8-digit HS code (AHTN); its first six digits a subheading of HS 2022.",
    )
    description: FreeText = Field(min_length=1, max_length=500)
    origin_country: CountryCode
    quantity: Quantity
    unit: Annotated[FreeText, AfterValidator(check_unit)] = Field(
        min_length=1,
        max_length=16,
        description=(
            "A unit code of UN/ECE Recommendation 20 (any of its full list, e.g. H87, KGM,"
            " LTR, MTK; not the Recommendation 21 package codes such as XBX), or PCE, which"
            " VNACCS still uses."
        ),
    )
    customs_value: Money
    brand: FreeText | None = Field(default=None, max_length=200)
    unit_price: Money | None = Field(default=None, description="In the invoice currency.")
    preferential_origin: PreferentialOrigin | None = None


class DeclarationIn(_Strict):
    declarant: Declarant
    declaration_type: Literal["import", "export"]
    type_code: str = Field(
        pattern=r"^[A-Z][0-9A-Z]{2}$", description="Type of trade, e.g. A11 or E21."
    )
    customs_office: str = Field(pattern=r"^[0-9A-Z]{2,8}$")
    currency: CurrencyCode
    items: list[ItemIn] = Field(min_length=1, max_length=500)
    broker: Party | None = None
    transport: Transport | None = None
    countries: Countries | None = None
    incoterm: Incoterm | None = Field(default=None, description="Incoterms 2020 rule.")
    invoice: Invoice | None = None
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

    @field_validator("invoice")
    @classmethod
    def _invoice_matches_items(cls, value: Invoice | None, info: ValidationInfo) -> Invoice | None:
        # Fields validate in order: items and currency are known here unless they failed.
        if value is None:
            return None
        currency = info.data.get("currency")
        if value.currency is not None and currency is not None and value.currency != currency:
            raise ValueError(
                f"invoice currency {value.currency} differs from the declaration's {currency}"
            )
        items: list[ItemIn] | None = info.data.get("items")
        if items is not None:
            declared = sum((i.customs_value for i in items), start=Decimal(0))
            if declared != value.total:
                raise ValueError(
                    f"invoice total {value.total} does not equal the sum of the items' "
                    f"customs values, {declared}"
                )
        return value

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
    version: int = 1
    receipt: str | None = Field(
        default=None,
        description="Compact JWS (EdDSA) over the declaration id, version, SHA-256 of the "
        "canonical body (`body_sha256`: the body as sent, signature included, in RFC 8785 "
        "canonical JSON), received time and tenant; verify with receipts/jwks.json.",
    )


class ItemOut(ItemFacts):
    """An item as the API shows it: the same facts the submitted event carries."""

    model_config = ConfigDict(from_attributes=True)


class TimelineEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    actor: str | None = Field(description="Who: a client id, or the service whose result it was.")
    from_status: str | None
    to_status: str
    status: str = Field(description="The status after the change (the same as to_status).")
    event: str
    detail: str = Field(description="Why.")


class DeclarationOut(BaseModel):
    """One declaration as the API shows it, read from its row."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    version: int = Field(default=1, description="Raised by each amendment; the ETag names it.")
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
    exchange_rate: Decimal | None = Field(
        default=None, description="VND per unit of the currency on the declaration date."
    )
    total_customs_value_vnd: Decimal | None = None
    containers: list[str]
    broker: Party | None = None
    transport: Transport | None = None
    countries: Countries | None = None
    incoterm: Incoterm | None = None
    invoice: Invoice | None = None
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
    total_customs_value_vnd: Decimal | None = None
    created_at: datetime


class DeclarationPage(BaseModel):
    items: list[DeclarationSummary]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class StatusChange(BaseModel):
    """An officer's decision on a declaration."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["UNDER_INSPECTION", "HELD", "RELEASED", "REJECTED"]
    reason: FreeText = Field(min_length=1, max_length=1000)


class Cancellation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: FreeText = Field(min_length=1, max_length=1000)
