from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ReceiptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    declaration_id: uuid.UUID
    version: int
    jws: str = Field(description="Compact JWS (EdDSA); verify with receipts/jwks.json.")
    issued_at: datetime
