"""Every topic and event type of the cluster: one place, used by producers,
consumers, topic creation and the docs (docs/events.md is generated from it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from customs_shared.events import schemas


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    key: str
    purpose: str
    compacted: bool = False

    @property
    def dlq(self) -> str:
        return f"{self.name}.dlq"


DECLARATIONS = Topic("customs.declarations.v1", "declaration id", "Declaration lifecycle facts.")
SIGNATURES = Topic(
    "customs.signatures.v1",
    "declaration id (an IPR application attachment's check: the application id)",
    "Signature verification results.",
)
IPR = Topic(
    "customs.ipr.v1",
    "declaration id (an IPR application attachment: the application id)",
    "IPR screening results and suspensions; attachments of IPR applications.",
)
LANES = Topic(
    "customs.lanes.v1",
    "declaration id (a partner event's report: its subject)",
    "Lane decisions with their reasons; what routing did with each partner event.",
)
PARTNER_EVENTS = Topic("customs.partner-events.v1", "subject", "Events pushed by partner agencies.")
IPR_RECORDS = Topic("customs.ipr-records.v1", "record id", "Current IPR records.", compacted=True)
# Not CloudEvents of the catalog's types: every process of every service reads the whole
# topic into its token verifier (customs_shared.revocation), without a consumer group.
TOKEN_REVOCATIONS = Topic(
    "customs.token-revocations.v1",
    "jti:<token id> or client:<client id>",
    "Revoked access tokens and clients; every service refuses them.",
    compacted=True,
)

TOPICS: tuple[Topic, ...] = (
    DECLARATIONS,
    SIGNATURES,
    IPR,
    LANES,
    PARTNER_EVENTS,
    IPR_RECORDS,
    TOKEN_REVOCATIONS,
)


Data = TypeVar("Data", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class EventType(Generic[Data]):
    """An event type and the schema of its ``data``; typed by that schema, so a
    handler bound to it must take exactly that model."""

    name: str
    topic: Topic
    data: type[Data]
    producer: str
    consumers: tuple[str, ...]


DECLARATION_SUBMITTED = EventType(
    "customs.declaration.submitted.v1",
    DECLARATIONS,
    schemas.DeclarationSubmitted,
    "declaration-svc",
    ("signature-svc", "ipr-svc", "routing-svc"),
)
DECLARATION_AMENDED = EventType(
    "customs.declaration.amended.v1",
    DECLARATIONS,
    schemas.DeclarationSubmitted,
    "declaration-svc",
    ("signature-svc", "ipr-svc", "routing-svc"),
)
DECLARATION_CANCELLED = EventType(
    "customs.declaration.cancelled.v1",
    DECLARATIONS,
    schemas.DeclarationCancelled,
    "declaration-svc",
    ("routing-svc",),
)
DECLARATION_STATUS_CHANGED = EventType(
    "customs.declaration.status-changed.v1",
    DECLARATIONS,
    schemas.DeclarationStatusChanged,
    "declaration-svc",
    ("routing-svc",),
)
# Verifying a document's signature against its digest is signature-svc's to add; until
# then nothing consumes this type and the declaration topic's consumers skip it.
DOCUMENT_ATTACHED = EventType(
    "customs.document.attached.v1",
    DECLARATIONS,
    schemas.DocumentAttached,
    "declaration-svc",
    ("signature-svc",),
)
DOCUMENT_SIGNATURE_CHECKED = EventType(
    "customs.document.signature-checked.v1",
    SIGNATURES,
    schemas.DocumentSignatureChecked,
    "signature-svc",
    ("declaration-svc",),
)
SIGNATURE_CHECKED = EventType(
    "customs.signature.checked.v1",
    SIGNATURES,
    schemas.SignatureChecked,
    "signature-svc",
    # declaration-svc reads the result in the lane event (or in a forwarded one).
    ("routing-svc",),
)
IPR_SCREENED = EventType(
    "customs.ipr.screened.v1",
    IPR,
    schemas.IprScreened,
    "ipr-svc",
    # declaration-svc reads the result in the lane event (or in a forwarded one).
    ("routing-svc",),
)
# Screening replicas are to fold this compacted topic into their in-memory index; until
# then nothing consumes it.
IPR_RECORD_CHANGED = EventType(
    "customs.ipr.record-changed.v1",
    IPR_RECORDS,
    schemas.IprRecordState,
    "ipr-svc",
    (),
)
# declaration-svc holds the declaration and shows each step in its timeline; routing keeps
# it red while suspended.
IPR_SUSPENSION_CHANGED = EventType(
    "customs.ipr.suspension-changed.v1",
    IPR,
    schemas.IprSuspensionChanged,
    "ipr-svc",
    ("declaration-svc", "routing-svc"),
)
# An IPR application's attachment: signature-svc verifies its signature as a document's.
IPR_ATTACHMENT_ADDED = EventType(
    "customs.ipr.attachment-added.v1",
    IPR,
    schemas.IprAttachmentAdded,
    "ipr-svc",
    ("signature-svc",),
)
IPR_ATTACHMENT_SIGNATURE_CHECKED = EventType(
    "customs.ipr.attachment-signature-checked.v1",
    SIGNATURES,
    schemas.IprAttachmentSignatureChecked,
    "signature-svc",
    ("ipr-svc",),
)
LANE_ASSIGNED = EventType(
    "customs.lane.assigned.v1",
    LANES,
    schemas.LaneAssigned,
    "routing-svc",
    ("declaration-svc",),
)
# Partner events: the gateway validates and produces them; routing-svc keeps them as
# intelligence and re-decides the laned declarations they concern.
PARTNER_RADIATION_ALARM = EventType(
    "customs.partner.radiation-alarm.v1",
    PARTNER_EVENTS,
    schemas.RadiationAlarm,
    "gateway",
    ("routing-svc",),
)
PARTNER_ORIGIN_CERTIFICATE = EventType(
    "customs.partner.origin-certificate.v1",
    PARTNER_EVENTS,
    schemas.OriginCertificate,
    "gateway",
    ("routing-svc",),
)
PARTNER_RISK_ALERT = EventType(
    "customs.partner.risk-alert.v1",
    PARTNER_EVENTS,
    schemas.RiskAlert,
    "gateway",
    ("routing-svc",),
)
SCREENING_FORWARDED = EventType(
    "customs.lane.screening-forwarded.v1",
    LANES,
    schemas.ScreeningForwarded,
    "routing-svc",
    ("declaration-svc",),
)
ROUTING_PARTNER_EVENT_HANDLED = EventType(
    "customs.routing.partner-event-handled.v1",
    LANES,
    schemas.PartnerEventHandled,
    "routing-svc",
    ("gateway",),
)
PARTNER_EVENT_TYPES: tuple[EventType[Any], ...] = (
    PARTNER_RADIATION_ALARM,
    PARTNER_ORIGIN_CERTIFICATE,
    PARTNER_RISK_ALERT,
)

EVENT_TYPES: tuple[EventType[Any], ...] = (
    DECLARATION_SUBMITTED,
    DECLARATION_AMENDED,
    DECLARATION_CANCELLED,
    DECLARATION_STATUS_CHANGED,
    DOCUMENT_ATTACHED,
    DOCUMENT_SIGNATURE_CHECKED,
    SIGNATURE_CHECKED,
    IPR_SCREENED,
    IPR_RECORD_CHANGED,
    IPR_SUSPENSION_CHANGED,
    IPR_ATTACHMENT_ADDED,
    IPR_ATTACHMENT_SIGNATURE_CHECKED,
    LANE_ASSIGNED,
    SCREENING_FORWARDED,
    ROUTING_PARTNER_EVENT_HANDLED,
    *PARTNER_EVENT_TYPES,
)


def consumed_by(service: str) -> frozenset[str]:
    """Names of the event types the catalog says ``service`` consumes."""
    return frozenset(t.name for t in EVENT_TYPES if service in t.consumers)
