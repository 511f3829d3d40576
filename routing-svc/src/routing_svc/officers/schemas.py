from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from customs_shared.events.schemas import Lane, LaneReason
from routing_svc.rules.definitions import OfficeCode

# At most this many reasons are shown per queue entry; the decision has them all.
QUEUE_REASONS = 3


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RoutingOfficerIn(_In):
    office: OfficeCode = Field(description="Customs office code the officer works for.")
    on_duty: bool = Field(default=True, description="Only on-duty officers get new work.")


class RoutingOfficerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    subject: str
    office: str
    on_duty: bool
    updated_at: datetime


class RoutingOfficerList(BaseModel):
    items: list[RoutingOfficerOut] = Field(description="By office, then subject.")
    next_after: str | None = Field(
        description="Pass as ?after= for the next page; none on the last page."
    )


class RoutingQueueEntry(BaseModel):
    declaration_id: uuid.UUID
    version: int
    tenant: str
    office: str
    lane: Lane
    score: int
    assigned_at: datetime
    reasons: list[LaneReason] = Field(
        description=f"The most severe reasons, at most {QUEUE_REASONS}; the decision "
        "(GET /api/v1/routing/decisions/{id}) has every one."
    )


class RoutingQueuePage(BaseModel):
    items: list[RoutingQueueEntry] = Field(description="Open assignments, oldest first.")
    next_cursor: str | None = Field(description="Pass as `after` for what follows.")


Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class RoutingOverrideIn(_In):
    lane: Lane
    reason: Reason = Field(description="Why the officer changes the lane; kept in the audit.")


class RoutingOverrideOut(BaseModel):
    declaration_id: uuid.UUID
    version: int
    revision: int
    from_lane: Lane
    to_lane: Lane


class RoutingInspectionIn(_In):
    result: Literal["nothing_found", "found"]
    findings: Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)] = Field(
        default="", description="What was found; required when `result` is `found`."
    )
    seized: bool = Field(default=False, description="Goods were seized; only with `found`.")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.result == "found" and not self.findings:
            raise ValueError("findings are required when something was found")
        if self.result == "nothing_found" and self.seized:
            raise ValueError("nothing can be seized when nothing was found")
        return self


class RoutingInspectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    declaration_id: uuid.UUID
    version: int
    office: str
    lane: Lane
    found: bool
    findings: str
    seized: bool
    rules_fired: list[str] = Field(description="The risk rules that had fired on the decision.")
    randomly_selected: Lane | None = Field(
        description="The lane random selection raised the decision to, if it did."
    )
    officer: str
    recorded_at: datetime
