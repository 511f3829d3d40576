"""A rule set as officers write it: rules in CEL, random selection rates and capacity
targets. The shape of ``POST /api/v1/routing/rule-sets`` and of builtin_rule_set.yaml."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Self

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from customs_shared.events.schemas import Lane

BUILTIN_RULE_SET = Path(__file__).with_name("builtin_rule_set.yaml")
OfficeCode = Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{2,8}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RuleDefinition(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$", description="Stable across versions.")
    name: str = Field(min_length=1, max_length=200)
    expression: str = Field(
        min_length=1, max_length=4000, description="CEL condition over the documented input."
    )
    lane: Lane = Field(description="The lane the rule demands when it fires.")
    weight: int = Field(default=10, ge=0, le=100, description="Adds to the decision's score.")
    reason: str = Field(
        min_length=1,
        max_length=500,
        description="Explanation shown when it fires; {path} inserts an input, e.g. "
        "{declaration.value_vnd} or {items.hs_code}.",
    )
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    author: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError(f"rule {self.id}: valid_until is not after valid_from")
        return self

    def in_force(self, at: datetime) -> bool:
        return (self.valid_from is None or self.valid_from <= at) and (
            self.valid_until is None or at < self.valid_until
        )


class SelectionRates(_Strict):
    """Shares of declarations sent at random to at least yellow or red."""

    yellow: float = Field(default=0.0, ge=0, le=1)
    red: float = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _at_most_all(self) -> Self:
        if self.yellow + self.red > 1:
            raise ValueError("random selection rates add up to more than 1")
        return self


class RandomSelection(_Strict):
    default: SelectionRates = SelectionRates()
    offices: dict[OfficeCode, SelectionRates] = Field(default_factory=dict, max_length=1000)

    def rates(self, office: str) -> SelectionRates:
        return self.offices.get(office, self.default)


class LaneShares(_Strict):
    green: float = Field(ge=0, le=1)
    yellow: float = Field(ge=0, le=1)
    red: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _whole(self) -> Self:
        if abs(self.green + self.yellow + self.red - 1) > 1e-6:
            raise ValueError("capacity target shares must add up to 1")
        return self


class CapacityTargets(_Strict):
    """Expected share of each lane per office, shown beside the actual shares."""

    default: LaneShares | None = None
    offices: dict[OfficeCode, LaneShares] = Field(default_factory=dict, max_length=1000)

    def for_office(self, office: str) -> LaneShares | None:
        return self.offices.get(office, self.default)


class RuleSetDefinition(_Strict):
    description: str = Field(default="", max_length=2000)
    rules: list[RuleDefinition] = Field(min_length=1, max_length=500)
    random_selection: RandomSelection = RandomSelection()
    capacity_targets: CapacityTargets = CapacityTargets()

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id} appears twice")
            seen.add(rule.id)
        return self


def builtin() -> RuleSetDefinition:
    """The first rule set, shipped with the service and active until officers activate one."""
    return RuleSetDefinition.model_validate(yaml.safe_load(BUILTIN_RULE_SET.read_text("utf-8")))
