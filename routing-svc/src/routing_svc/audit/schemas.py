from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    action: str = Field(description="e.g. rule-set.activated, risk-input.updated")
    subject: str = Field(description="e.g. rule-set/3, trader/0312345673, country/CN")
    detail: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_before: int | None = Field(
        description="Pass as ``before`` for the next (older) page; null on the last page."
    )
