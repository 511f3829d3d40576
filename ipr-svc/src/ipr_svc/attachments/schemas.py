from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from customs_shared.events.schemas import SignatureStatus


class IprAttachmentType(StrEnum):
    REGISTRATION_CERTIFICATE = "registration-certificate"
    POWER_OF_ATTORNEY = "power-of-attorney"
    PRODUCT_PHOTOS = "product-photos"
    OTHER = "other"


class IprAttachmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    application_id: uuid.UUID
    attachment_type: IprAttachmentType
    filename: str
    content_type: str
    size: int
    sha256: str
    signed: bool
    signature_status: SignatureStatus | None = Field(
        description="signature-svc's verdict (valid, invalid, indeterminate, missing, "
        "not_required); null until it has checked the signature."
    )
    signature_report_id: uuid.UUID | None = Field(
        description="GET /api/v1/signatures/reports/{signature_report_id}."
    )
    uploaded_by: str
    uploaded_at: datetime


class IprAttachmentList(BaseModel):
    items: list[IprAttachmentOut]
