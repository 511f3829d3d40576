"""The ``data`` of each event type. Adding a field is compatible; renaming or
removing one needs a new ``.vN`` type."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Self
from uuid import UUID

import pycountry
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from stdnum import iso6346
from stdnum.vn import mst


class _EventData(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class DeclarantKind(StrEnum):
    ENTERPRISE = "enterprise"
    INDIVIDUAL = "individual"


class Lane(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class SignatureStatus(StrEnum):
    NOT_REQUIRED = "not_required"
    MISSING = "missing"
    PRESENT = "present"  # attached but not verified (an event without the CMS bytes)
    VALID = "valid"  # TOTAL_PASSED
    INVALID = "invalid"  # TOTAL_FAILED
    INDETERMINATE = "indeterminate"  # INDETERMINATE: could not be decided (e.g. no current CRL)


class IprOutcome(StrEnum):
    NO_RECORDS = "no_records"
    CLEAR = "clear"
    HIT = "hit"


class PreferentialOriginClaim(_EventData):
    """Preferential origin claimed for an item, with its certificate of origin."""

    form: str
    certificate_number: str
    certificate_date: date | None = None


class ItemFacts(_EventData):
    line: int
    hs_code: str
    description: str
    origin_country: str
    quantity: Decimal
    unit: str
    customs_value: Decimal
    brand: str | None = None
    customs_value_vnd: Decimal | None = None
    unit_price: Decimal | None = None
    preferential_origin: PreferentialOriginClaim | None = None


class DeclarationSubmitted(_EventData):
    """A declaration was accepted; the facts screening and routing need, no documents.
    An amendment publishes the same facts of its new ``version``."""

    declaration_id: UUID
    version: int = 1
    tenant: str
    declarant_tax_code: str | None
    declarant_kind: DeclarantKind
    declaration_type: str
    customs_office: str
    currency: str
    total_customs_value: Decimal
    items: list[ItemFacts]
    signature_present: bool
    submitted_at: datetime
    signature_cms: str | None = Field(
        default=None, description="The detached CMS signature, base64 DER (a few KB)."
    )
    signed_sha256: str | None = Field(
        default=None,
        description="SHA-256 (hex) of the signed bytes: the RFC 8785 canonical JSON of the "
        "declaration body without its signature (customs_shared.canonical).",
    )
    # The customs exchange rate (VND per unit of ``currency``) of the declaration date and
    # the total converted with it; absent from declarations submitted before conversion.
    exchange_rate: Decimal | None = None
    total_customs_value_vnd: Decimal | None = None
    containers: list[str] = Field(
        default_factory=list, description="ISO 6346 numbers of the containers carrying the goods."
    )
    export_country: str | None = Field(default=None, description="Country of export (dispatch).")
    transport_mode: str | None = Field(default=None, description="Mode of transport at the border.")


class DeclarationCancelled(_EventData):
    """The trader withdrew a declaration before release; nothing more is decided on it."""

    declaration_id: UUID
    version: int
    tenant: str
    reason: str
    cancelled_at: datetime


class DeclarationStatusChanged(_EventData):
    """An officer's decision on a declaration: under inspection, held, released or
    rejected. Routing stops re-deciding a released or rejected declaration."""

    declaration_id: UUID
    version: int
    tenant: str
    status: str = Field(description="`UNDER_INSPECTION`, `HELD`, `RELEASED` or `REJECTED`.")
    previous_status: str
    actor: str = Field(description="The officer (token subject) who decided.")
    reason: str
    changed_at: datetime


class DocumentAttached(_EventData):
    """A document was attached to a declaration: its digest and detached signature,
    never its bytes, for the signature to be verified against the digest."""

    declaration_id: UUID
    document_id: UUID
    declaration_version: int
    tenant: str
    declarant_kind: DeclarantKind
    declarant_tax_code: str | None
    document_type: str
    filename: str
    content_type: str
    size: int
    sha256: str
    signature: str | None = Field(description="Detached CMS signature, DER, base64; or none.")
    attached_at: datetime


class SignatureChecked(_EventData):
    """The outcome of checking a declaration's signature."""

    declaration_id: UUID
    version: int = 1  # of the declaration checked; a result for an older one is stale
    tenant: str
    status: SignatureStatus
    detail: str
    indication: str | None = Field(
        default=None, description="TOTAL_PASSED, TOTAL_FAILED or INDETERMINATE (ETSI EN 319 102-1)."
    )
    sub_indication: str | None = None
    report_id: UUID | None = Field(
        default=None, description="GET /api/v1/signatures/reports/{report_id}."
    )


class DocumentSignatureChecked(_EventData):
    """The outcome of checking an attached document's detached signature."""

    declaration_id: UUID
    document_id: UUID
    tenant: str
    status: SignatureStatus
    detail: str
    indication: str | None = None
    sub_indication: str | None = None
    report_id: UUID | None = Field(
        default=None, description="GET /api/v1/signatures/reports/{report_id}."
    )


class IprAttachmentAdded(_EventData):
    """A file was attached to an IPR application: its digest and detached signature,
    never its bytes, for the signature to be verified against the digest."""

    application_id: UUID
    attachment_id: UUID
    tenant: str
    applicant_kind: DeclarantKind
    applicant_tax_code: str | None = Field(
        description="An enterprise applicant's tax code (its tenant): the signer's must match."
    )
    attachment_type: str
    filename: str
    content_type: str
    size: int
    sha256: str
    signature: str | None = Field(description="Detached CMS signature, DER, base64; or none.")
    added_at: datetime


class IprAttachmentSignatureChecked(_EventData):
    """The outcome of checking an IPR application attachment's detached signature."""

    application_id: UUID
    attachment_id: UUID
    tenant: str
    status: SignatureStatus
    detail: str
    indication: str | None = None
    sub_indication: str | None = None
    report_id: UUID | None = Field(
        default=None, description="GET /api/v1/signatures/reports/{report_id}."
    )


class IprHit(_EventData):
    record_id: str
    item_line: int
    matched: str
    score: float | None = Field(
        default=None, description="1.0 for an exact alias, below for a fuzzy match."
    )
    text: str | None = Field(default=None, description="The item's text that met the mark.")
    why: str | None = Field(default=None, description="`alias` (exact) or `fuzzy`.")


class IprScreened(_EventData):
    """The outcome of screening a declaration's items against recorded IPR."""

    declaration_id: UUID
    version: int = 1  # of the declaration screened; a result for an older one is stale
    tenant: str
    outcome: IprOutcome
    hits: list[IprHit] = Field(default_factory=list)
    records_checked: int


class IprRecordState(_EventData):
    """The current state of one IPR record, keyed by its id on a compacted topic: the
    newest message per record is all a screening replica needs to hold the active set."""

    record_id: str
    registration_number: str | None
    right_type: str
    holder: str
    brands: list[str]
    hs_headings: list[str] = Field(description="4-digit HS headings; empty: all goods.")
    authorised_importers: list[str] = Field(description="Tax codes whose goods are genuine.")
    offices: list[str] = Field(description="Customs offices concerned; empty: all.")
    valid_from: datetime
    valid_until: datetime
    status: str = Field(description="`active`, `revoked` or `expired`.")


class IprSuspensionChanged(_EventData):
    """Clearance of a declaration's goods suspended on an IPR hit, or a later step of
    it: extended, confirmed (goods held), withdrawn or released (no answer by the deadline)."""

    suspension_id: UUID
    declaration_id: UUID
    item_line: int
    record_id: str
    status: str = Field(description="`suspended`, `confirmed`, `withdrawn` or `released`.")
    deadline: date
    extended: bool
    reason: str


class LaneReason(_EventData):
    rule: str
    lane: Lane
    explanation: str
    saw: dict[str, str] = Field(
        default_factory=dict,
        description="The inputs the rule's expression reads, as they were when it fired.",
    )


class LaneVerdict(_EventData):
    """A lane with every rule that fired, the rule set that decided it and the
    inputs it saw: what routing's rules return, store, publish and show."""

    lane: Lane
    reasons: list[LaneReason]
    rule_set_version: str
    inputs: dict[str, str]
    rejected: bool = Field(
        default=False,
        description="The declaration is refused outright (routing's configured outcome for an "
        "enterprise's invalid signature); the lane stays on record.",
    )
    score: int = Field(default=0, description="Sum of the weights of the rules that fired.")
    screening_complete: bool = Field(
        default=True,
        description="False when the lane was decided at the deadline without every screening.",
    )
    revision: int = Field(
        default=1,
        description="1 for the version's first decision; higher when intelligence or an officer "
        "changed the lane of the same version.",
    )


class LaneAssigned(LaneVerdict):
    """The lane of a declaration's version, decided once, with every rule that fired.
    An amendment is a new version with a lane of its own; the newest one is current."""

    declaration_id: UUID
    version: int = 1
    tenant: str
    decided_at: datetime
    # declaration-svc takes the screening results from here instead of from their own
    # topics: one event per declaration to consume instead of three.
    signature: SignatureChecked | None = Field(
        default=None,
        description="First decision of a version (revision 1): the signature result it was "
        "decided on (null: none came before the deadline). Later revisions: null.",
    )
    ipr: IprScreened | None = Field(
        default=None,
        description="First decision of a version (revision 1): the IPR screening result it was "
        "decided on (null: none came before the deadline). Later revisions: null.",
    )


class ScreeningForwarded(_EventData):
    """Screening results no lane event carries: those routing received after it decided the
    version's lane, or for a version that will get none (cancelled, closed)."""

    declaration_id: UUID
    version: int = 1
    tenant: str
    signature: SignatureChecked | None = None
    ipr: IprScreened | None = None


# Partner events: pushed by partner agencies through the gateway, which validates
# their ``data`` against these models before producing them.


def _country(code: str) -> str:
    if pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return code


def _container(number: str) -> str:
    if not iso6346.is_valid(number):
        raise ValueError(f"{number!r} is not an ISO 6346 container number (check digit)")
    return iso6346.compact(number)


def _un_locode(code: str) -> str:
    _country(code[:2])
    return code


def _tax_code(code: str) -> str:
    if not mst.is_valid(code):
        raise ValueError(f"{code!r} is not a valid Vietnamese tax code")
    return mst.compact(code)


CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$"), AfterValidator(_country)]
ContainerNumber = Annotated[str, StringConstraints(max_length=16), AfterValidator(_container)]
# UN/LOCODE: the country, then three letters or digits 2-9 for the place.
UnLocode = Annotated[
    str, StringConstraints(pattern=r"^[A-Z]{2}[A-Z2-9]{3}$"), AfterValidator(_un_locode)
]
TaxCode = Annotated[str, StringConstraints(max_length=16), AfterValidator(_tax_code)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
HsSubheading = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
HsHeading = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]

RADIATION_ALARM_DEFAULT_VALIDITY = timedelta(days=30)


class PartnerEventData(_EventData):
    """The ``data`` of a partner event; ``subject`` is what its CloudEvent's subject
    (and its Kafka key) must be."""

    @property
    def subject(self) -> str:
        raise NotImplementedError


class RadiationLevel(StrEnum):
    ALERT = "alert"
    ALARM = "alarm"


class RadiationAlarm(PartnerEventData):
    """A radiation portal monitor fired on a container (subject: the container number)."""

    container_number: ContainerNumber
    port: UnLocode
    monitor_id: Text
    detected_at: AwareDatetime
    level: RadiationLevel
    nuclide: Text | None = None
    valid_until: AwareDatetime | None = Field(
        default=None, description="Default: 30 days after detection."
    )

    @model_validator(mode="after")
    def _validity(self) -> Self:
        if self.valid_until is None:
            valid_until = self.detected_at + RADIATION_ALARM_DEFAULT_VALIDITY
            object.__setattr__(self, "valid_until", valid_until)
        elif self.valid_until <= self.detected_at:
            raise ValueError("valid_until must be after detected_at")
        return self

    @property
    def subject(self) -> str:
        return self.container_number


class CertificateStatus(StrEnum):
    ISSUED = "issued"
    REVOKED = "revoked"


class OriginCertificate(PartnerEventData):
    """A certificate of origin issued or revoked by the exporting country's authority
    (subject: the certificate reference)."""

    reference: Text
    form: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9.]{1,8}$")]
    exporting_country: CountryCode
    importing_country: CountryCode
    exporter_name: Text
    importer_tax_code: TaxCode | None = None
    hs_subheadings: list[HsSubheading] = Field(min_length=1, max_length=500)
    issued_at: AwareDatetime
    status: CertificateStatus

    @property
    def subject(self) -> str:
        return self.reference


class RiskRoute(_EventData):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    from_country: CountryCode = Field(alias="from")
    to_country: CountryCode = Field(alias="to")


class RiskTargets(_EventData):
    trader_tax_codes: list[TaxCode] = Field(default_factory=list, max_length=500)
    hs_headings: list[HsHeading] = Field(default_factory=list, max_length=500)
    containers: list[ContainerNumber] = Field(default_factory=list, max_length=500)
    routes: list[RiskRoute] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not (self.trader_tax_codes or self.hs_headings or self.containers or self.routes):
            raise ValueError("targets must name at least one trader, heading, container or route")
        return self


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class RiskAlert(PartnerEventData):
    """A partner's risk alert: what it targets, and the lane it asks for (subject: the
    alert id)."""

    alert_id: Text
    issuing_authority: Text
    targets: RiskTargets
    risk_level: RiskLevel
    lane: Literal[Lane.YELLOW, Lane.RED]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    valid_from: AwareDatetime
    valid_until: AwareDatetime

    @model_validator(mode="after")
    def _validity(self) -> Self:
        if self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self

    @property
    def subject(self) -> str:
        return self.alert_id


class PartnerEventHandled(_EventData):
    """What routing did with a partner's event, for the partner's read-back at the gateway."""

    source: str = Field(description="The partner event's CloudEvents source.")
    event_id: str = Field(description="The partner event's CloudEvents id.")
    type: str
    outcome: str = Field(
        description="`applied` (in force: declarations re-decided), `stored` (kept for "
        "decisions to come), `scheduled` (an alert whose window opens later), `duplicate` "
        "(the same reading or state again), `expired` (over before it arrived)."
    )
    declarations_checked: int = Field(default=0, description="Declarations re-decided.")
    declarations_raised: int = Field(default=0, description="Of those, lanes raised.")
    detail: str = ""
    handled_at: datetime
