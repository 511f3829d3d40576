"""Rule sets as the API shows them, and what a dry run reports."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from customs_shared.events.schemas import Lane
from routing_svc.rules.definitions import RuleSetDefinition

RuleSetStatus = Literal["draft", "active", "retired"]


class RuleSetSummary(BaseModel):
    """A version of the rules in a listing."""

    model_config = ConfigDict(from_attributes=True)

    version: int
    label: str = Field(description="The version as decisions record it (rule_set_version).")
    status: RuleSetStatus
    created_by: str
    created_at: datetime
    activated_by: str | None
    activated_at: datetime | None


class RuleSetOut(RuleSetSummary):
    """One version of the rules, with its whole definition."""

    definition: RuleSetDefinition


class RuleSetPage(BaseModel):
    items: list[RuleSetSummary]
    next_before: int | None = Field(
        description="Pass as ``before`` for the next (older) page; null on the last page."
    )


class ActiveRuleSetOut(BaseModel):
    """The rules decisions use now: a stored version, or the built-in set while none
    has been activated."""

    label: str = Field(description="rs-<version>, or builtin-… for the built-in rule set.")
    version: int | None = Field(description="The stored version; null for the built-in set.")
    activated_by: str | None
    activated_at: datetime | None
    definition: RuleSetDefinition


class DryRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    declarations: int = Field(
        default=1000,
        ge=1,
        description="How many of the most recent decisions to replay (at most the "
        "service's ROUTING_DRY_RUN_MAX_DECLARATIONS).",
    )


class DryRunLaneShares(BaseModel):
    green: float
    yellow: float
    red: float


class DryRunChange(BaseModel):
    declaration_id: uuid.UUID
    version: int
    office: str
    decided_at: datetime
    from_lane: Lane = Field(description="The lane the rules gave when it was decided.")
    to_lane: Lane = Field(description="The lane the candidate rule set gives.")
    rules_fired: list[str] = Field(description="The candidate's rules that fire on it.")


class DryRunOut(BaseModel):
    """How lanes would change under a rule set: the most recent decisions replayed with
    the inputs each one saw and its own random draw. Nothing is stored."""

    rule_set: str
    declarations: int = Field(description="Decisions replayed (fewer if fewer exist).")
    skipped: int = Field(description="Recent decisions without stored inputs, not replayed.")
    changed: int
    before: DryRunLaneShares = Field(description="Shares of each lane as decided.")
    after: DryRunLaneShares = Field(description="Shares of each lane under the candidate.")
    changes: list[DryRunChange] = Field(description="The changed declarations, at most 200.")
    changes_truncated: bool
