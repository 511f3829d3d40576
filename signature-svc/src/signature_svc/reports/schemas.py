from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from signature_svc.verification.report import (
    CheckName,
    CheckStatus,
    Indication,
    SubIndication,
)


class CheckOut(BaseModel):
    name: CheckName
    status: CheckStatus
    message: str


class SignerOut(BaseModel):
    subject: str
    tax_codes: list[str]
    serial: str
    sha256_fingerprint: str
    issuer: str
    not_before: datetime
    not_after: datetime


class EnterpriseBindingOut(BaseModel):
    tax_code: str
    subject_matches: bool
    registered: bool


class RevocationEvidenceOut(BaseModel):
    certificate_subject: str
    crl_issuer: str
    this_update: datetime
    next_update: datetime | None
    crl_sha256: str


class ReportOut(BaseModel):
    """A validation report in the shape of an ETSI EN 319 102-1 simple report."""

    id: uuid.UUID
    declaration_id: uuid.UUID | None
    tax_code: str | None
    document_sha256: str | None
    indication: Indication
    sub_indication: SubIndication | None
    validation_time: datetime
    signer: SignerOut | None
    enterprise_binding: EnterpriseBindingOut | None
    checks: list[CheckOut]
    revocation_evidence: list[RevocationEvidenceOut]
    chain: list[str]
    created_at: datetime
