"""An application for customs action (the EU's AFA and Vietnam's online application)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.vn import mst

from customs_shared.notifications.schemas import CallbackUrl
from ipr_svc.records.schemas import Heading, RightType, TaxCodes, Text


class IprApplicantKind(StrEnum):
    """An enterprise's tenant is its tax code; an individual's files may be unsigned."""

    ENTERPRISE = "enterprise"
    INDIVIDUAL = "individual"


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


class IprRepresentative(BaseModel):
    """Who files on the holder's behalf; the power of attorney is attached to the
    application (attachment type ``power-of-attorney``)."""

    model_config = ConfigDict(extra="forbid")

    name: Text
    tax_code: str | None = Field(default=None, description="An enterprise's tax code.")
    id_number: Annotated[str, StringConstraints(pattern=r"^\d{9}$|^\d{12}$")] | None = Field(
        default=None, description="A person's identity card number (9 or 12 digits)."
    )

    @model_validator(mode="after")
    def _identified(self) -> IprRepresentative:
        if self.tax_code is not None:
            try:
                self.tax_code = mst.validate(self.tax_code)
            except StdnumError as exc:
                raise ValueError(f"tax_code: not a Vietnamese tax code: {exc}") from exc
        if self.tax_code is None and self.id_number is None:
            raise ValueError("a representative gives a tax_code or an id_number")
        return self


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
    notification_url: CallbackUrl | None = None
    applicant_kind: IprApplicantKind = Field(
        default=IprApplicantKind.ENTERPRISE,
        description="An enterprise's tenant is its tax code and its attachments are signed; "
        "an individual's may be unsigned.",
    )
    representative: IprRepresentative | None = Field(
        default=None, description="Who files on the holder's behalf, if not the holder."
    )


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
    applicant_kind: IprApplicantKind
    representative: IprRepresentative | None
    filed_at: datetime


class ApplicationList(BaseModel):
    items: list[ApplicationOut] = Field(description="Newest first.")
    next_after: uuid.UUID | None = Field(
        description="Pass as ?after= for the next page; none on the last page."
    )


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


class IprDecisionOut(BaseModel):
    """One entry of an application's audit trail."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    action: str = Field(description="approve, reject, revoke, renewal-filed or extend.")
    actor: str = Field(description="Who decided (the token's subject).")
    reason: str
    valid_from: date | None
    valid_until: date | None
    decided_at: datetime


class IprDecisionList(BaseModel):
    items: list[IprDecisionOut] = Field(description="Oldest first.")


class IprPendingRenewal(BaseModel):
    renewal_id: uuid.UUID = Field(description="The renewal-filed entry of the audit trail.")
    application_id: uuid.UUID
    applicant_tenant: str
    registration_number: str
    right_type: RightType
    owner: str
    valid_until: date = Field(description="The validity in force.")
    requested_valid_until: date | None = Field(description="What the holder asks for.")
    right_valid_until: date
    filed_at: datetime


class IprRenewalQueue(BaseModel):
    items: list[IprPendingRenewal] = Field(description="Oldest renewal first.")
    next_after: uuid.UUID | None = Field(description="Pass as ?after= for the next page.")
