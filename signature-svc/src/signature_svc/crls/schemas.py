from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class CrlOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    issuer: str
    crl_sha256: str
    this_update: datetime
    next_update: datetime | None
    uploaded_at: datetime
