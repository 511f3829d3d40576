from __future__ import annotations

import uuid
from enum import StrEnum

from customs_shared.uploads import StoredFileOut


class DocumentType(StrEnum):
    INVOICE = "invoice"
    PACKING_LIST = "packing_list"
    BILL_OF_LADING = "bill_of_lading"
    CERTIFICATE_OF_ORIGIN = "certificate_of_origin"
    LICENCE = "licence"
    OTHER = "other"


class DocumentOut(StoredFileOut):
    declaration_id: uuid.UUID
    declaration_version: int
    document_type: DocumentType
