from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from customs_shared.events.schemas import IprHit, IprOutcome


class ScreeningOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    declaration_id: uuid.UUID
    outcome: IprOutcome
    records_checked: int
    hits: list[IprHit]
    screened_at: datetime


class HitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="The hit's own id: a listing's next_after names one.")
    declaration_id: uuid.UUID
    version: int
    item_line: int
    record_id: str
    matched: str
    text: str
    score: float
    why: str
    screened_at: datetime


class HitList(BaseModel):
    items: list[HitOut] = Field(description="Newest first.")
    next_after: uuid.UUID | None = Field(
        description="Pass as ?after= for the next page; none on the last page."
    )
