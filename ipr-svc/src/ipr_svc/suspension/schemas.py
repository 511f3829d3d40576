from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class SuspensionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    declaration_id: uuid.UUID
    record_id: uuid.UUID
    item_line: int = Field(ge=1)
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class SuspensionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    declaration_id: uuid.UUID
    item_line: int
    record_id: str
    status: str
    reason: str
    suspended_on: date
    deadline: date = Field(description="Last working day for the holder's answer.")
    extended: bool
    updated_at: datetime


class SuspensionList(BaseModel):
    items: list[SuspensionOut] = Field(description="Newest change first.")
    next_after: uuid.UUID | None = Field(
        description="Pass as ?after= for the next page; none on the last page."
    )
