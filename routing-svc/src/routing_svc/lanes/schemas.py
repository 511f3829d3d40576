from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import ConfigDict, Field

from customs_shared.events.schemas import LaneVerdict


class LaneDecisionOut(LaneVerdict):
    """A declaration's lane as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    declaration_id: uuid.UUID
    version: int = Field(description="The declaration's version this lane is for.")
    decided_at: datetime
    rules_lane: str = Field(description="The lane the rules gave, before any override.")
    overridden: bool = Field(description="An officer changed the lane (see the reasons).")
    randomly_selected: str | None = Field(
        description="The lane random selection raised it to, if it did."
    )
    rule_errors: list[dict[str, str]] = Field(
        description="Rules that could not be evaluated on this input (they did not fire)."
    )
