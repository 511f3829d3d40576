from __future__ import annotations

import uuid
from enum import StrEnum

from pydantic import BaseModel

from customs_shared.uploads import StoredFileOut


class IprAttachmentType(StrEnum):
    REGISTRATION_CERTIFICATE = "registration-certificate"
    POWER_OF_ATTORNEY = "power-of-attorney"
    PRODUCT_PHOTOS = "product-photos"
    OTHER = "other"


class IprAttachmentOut(StoredFileOut):
    application_id: uuid.UUID
    attachment_type: IprAttachmentType


class IprAttachmentList(BaseModel):
    items: list[IprAttachmentOut]
