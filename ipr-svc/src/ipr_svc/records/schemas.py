"""Records imported from the earlier system: one row's fields, and the import's report."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.vn import mst

MAX_ROWS = 10_000

Heading = Annotated[str, StringConstraints(pattern=r"^\d{4}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _tax_codes(codes: list[str]) -> list[str]:
    try:
        return [mst.validate(code) for code in codes]
    except StdnumError as exc:
        raise ValueError(f"not a Vietnamese tax code: {exc}") from exc


TaxCodes = Annotated[list[str], AfterValidator(_tax_codes)]


class RightType(StrEnum):
    TRADEMARK = "trademark"
    COPYRIGHT = "copyright"
    GEOGRAPHICAL_INDICATION = "geographical_indication"
    INDUSTRIAL_DESIGN = "industrial_design"


class RecordRow(BaseModel):
    """One record still valid in the earlier system."""

    model_config = ConfigDict(extra="forbid")

    registration_number: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)
    ]
    right_type: RightType
    owner: Text
    brands: list[Text] = Field(min_length=1, max_length=50)
    hs_headings: list[Heading] = Field(default_factory=list, max_length=200)
    authorised_importers: TaxCodes = Field(default_factory=list, max_length=500)
    offices: list[Text] = Field(default_factory=list, max_length=100)
    valid_from: date
    valid_until: date
    holder_tax_code: str | None = Field(
        default=None, description="The holder's tenant, if known: it then sees the record."
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        return self


class ImportRequest(BaseModel):
    """Rows are validated one by one, so each is taken as it comes."""

    records: list[dict[str, Any]] = Field(max_length=MAX_ROWS)


class RowOutcome(StrEnum):
    IMPORTED = "imported"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    MERGED = "merged"  # a duplicate registration number, folded into its first row
    SKIPPED = "skipped"
    REJECTED = "rejected"


class RowReport(BaseModel):
    row: int = Field(description="1-based position in the upload.")
    registration_number: str | None
    outcome: RowOutcome
    reason: str | None = None
    record_id: str | None = None


class ImportReport(BaseModel):
    imported: int
    updated: int
    unchanged: int
    merged: int
    skipped: int
    rejected: int
    rows: list[RowReport]


class RecordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    registration_number: str | None
    right_type: str
    owner: str
    brands: list[str]
    hs_headings: list[str]
    authorised_importers: list[str]
    offices: list[str]
    valid_from: datetime
    valid_until: datetime
    status: str
    source: str
    updated_at: datetime


class RecordList(BaseModel):
    items: list[RecordOut] = Field(description="Newest change first.")
    next_after: uuid.UUID | None = Field(
        description="Pass as ?after= for the next page; none on the last page."
    )
