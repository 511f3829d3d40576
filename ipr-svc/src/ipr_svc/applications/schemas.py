"""An application for customs action (the EU's AFA and Vietnam's online application)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints

from ipr_svc.records.schemas import Heading, RightType, TaxCodes, Text

DEFAULT_VALIDITY_YEARS = 2


class Goods(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hs_headings: list[Heading] = Field(min_length=1, max_length=50)
    description: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    brands: list[Text] = Field(min_length=1, max_length=50, description="Names and aliases.")
    distinguishing_features: Annotated[str, StringConstraints(max_length=4000)] = Field(
        default="", description="How customs tells genuine goods from counterfeit."
    )


class SuspectedInfringer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text
    tax_code: str | None = None
    address: Annotated[str, StringConstraints(max_length=500)] = ""


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text
    email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$", max_length=254)]
    phone: Annotated[str, StringConstraints(max_length=32)] = ""


class ApplicationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    right_type: RightType
    registration_number: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)
    ]
    registration_office: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    owner: Text
    right_valid_until: date = Field(description="End of the right's protection term.")
    goods: list[Goods] = Field(min_length=1, max_length=100)
    authorised_importers: TaxCodes = Field(default_factory=list, max_length=500)
    suspected_infringers: list[SuspectedInfringer] = Field(default_factory=list, max_length=100)
    offices: list[Text] = Field(
        default_factory=list, max_length=100, description="Empty: every customs office."
    )
    requested_valid_until: date | None = Field(
        default=None,
        description=f"Default {DEFAULT_VALIDITY_YEARS} years from filing; never past the "
        "right's term.",
    )
    contact: Contact
    notification_url: AnyHttpUrl | None = None


class ApplicationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    status: str
    right_type: RightType
    registration_number: str
    registration_office: str
    owner: str
    right_valid_until: date
    goods: list[Goods]
    authorised_importers: list[str]
    suspected_infringers: list[SuspectedInfringer]
    offices: list[str]
    valid_from: date
    valid_until: date
    contact: Contact
    notification_url: str | None
    filed_at: datetime


class ApplicationList(BaseModel):
    items: list[ApplicationOut]


Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class Gaps(BaseModel):
    complete: bool
    gaps: list[str] = Field(description="What the applicant must still give.")


class ApprovalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    valid_from: date
    valid_until: date = Field(description="Capped at the end of the right's term.")
    reason: Reason


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class RenewalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    valid_until: date = Field(description="The validity asked for; never past the term.")


class ExtensionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    valid_until: date
    reason: Reason
