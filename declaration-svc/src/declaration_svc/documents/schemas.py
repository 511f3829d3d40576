from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from customs_shared.events.schemas import SignatureStatus


class DocumentType(StrEnum):
    INVOICE = "invoice"
    PACKING_LIST = "packing_list"
    BILL_OF_LADING = "bill_of_lading"
    CERTIFICATE_OF_ORIGIN = "certificate_of_origin"
    LICENCE = "licence"
    OTHER = "other"


class DocumentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    declaration_id: uuid.UUID
    declaration_version: int
    document_type: DocumentType
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
