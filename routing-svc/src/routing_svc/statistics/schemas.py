from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class RoutingLaneShares(BaseModel):
    green: float
    yellow: float
    red: float


class RoutingLaneCounts(BaseModel):
    green: int
    yellow: int
    red: int


class RoutingRandomSelections(BaseModel):
    yellow: int = Field(description="Declarations random selection raised to yellow.")
    red: int = Field(description="Declarations random selection raised to red.")


class RoutingDecisionTimes(BaseModel):
    """Seconds from submission to the current decision (decisions an officer overrode
    are left out: their time is the officer's, not the rules')."""

    decisions: int = Field(description="Decisions measured.")
    p50: float | None
    p95: float | None
    p99: float | None


class RoutingOfficeStatistics(BaseModel):
    office: str | None = Field(description="None for every office together.")
    decisions: int
    lanes: RoutingLaneCounts
    shares: RoutingLaneShares | None = Field(description="None when there are no decisions.")
    capacity_target: RoutingLaneShares | None = Field(
        description="The expected shares of the active rule set, if it sets them."
    )
    random_selections: RoutingRandomSelections
    submission_to_decision_seconds: RoutingDecisionTimes


class RoutingRuleRate(BaseModel):
    rule: str
    fired: int = Field(description="Decisions of the period the rule fired on.")
    selection_rate: float | None = Field(
        default=None, description="Share of the period's decisions it fired on."
    )
    inspected: int = Field(description="Inspections recorded in the period where it had fired.")
    found: int = Field(description="Of those, the ones that found something.")
    hit_rate: float | None = Field(description="found / inspected; None before any inspection.")


class RoutingRandomHitRate(BaseModel):
    """Checks of randomly selected declarations: what a rule's hit rate should beat."""

    inspected: int
    found: int
    hit_rate: float | None


class RoutingRuleHitRates(BaseModel):
    period_from: datetime = Field(alias="from")
    period_to: datetime = Field(alias="to")
    rules: list[RoutingRuleRate]
    random_selection: RoutingRandomHitRate


class RoutingStatistics(BaseModel):
    period_from: datetime = Field(alias="from")
    period_to: datetime = Field(alias="to")
    rule_set_version: str = Field(description="The active rule set, whose targets are shown.")
    overall: RoutingOfficeStatistics
    offices: list[RoutingOfficeStatistics]
    rules: list[RoutingRuleRate]
    random_selection: RoutingRandomHitRate
