from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from signature_svc.reports.schemas import CheckOut


class CertificateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tax_code: str = Field(description="The enterprise's tax code (MST), as in UID=MST:… .")
    certificate_pem: str = Field(max_length=20_000, description="One X.509 certificate, PEM.")


class CertificateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    tax_code: str
    fingerprint: str = Field(description="SHA-256 of the DER certificate, hex.")
    subject: str
    issuer: str
    serial: str
    not_before: datetime
    not_after: datetime
    active: bool
    registered_by: str
    registered_at: datetime
    deactivated_at: datetime | None


class CertificateList(BaseModel):
    items: list[CertificateOut] = Field(description="By tax code, then oldest registration first.")
    next_after: uuid.UUID | None = Field(
        description="Pass as ?after= for the next page; none on the last page."
    )


class RefusalDetail(BaseModel):
    checks: list[CheckOut]
