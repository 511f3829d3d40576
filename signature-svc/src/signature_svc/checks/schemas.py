from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from customs_shared.events.schemas import SignatureStatus


class SignatureCheckOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    declaration_id: uuid.UUID
    status: SignatureStatus
    detail: str
    checked_at: datetime
    indication: str | None = None
    sub_indication: str | None = None
    report_id: uuid.UUID | None = None
