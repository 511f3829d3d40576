from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from customs_shared.events.catalog import PARTNER_EVENTS


class Outcome(StrEnum):
    ACCEPTED = "accepted"  # produced now, Kafka acknowledged
    DUPLICATE = "duplicate"  # the same event was accepted before; not produced again
    REJECTED = "rejected"  # see problem
    UNAVAILABLE = "unavailable"  # Kafka did not acknowledge; send it again later


class PartnerEventView(BaseModel):
    """What the gateway knows of a partner event it accepted."""

    model_config = ConfigDict(from_attributes=True)

    source: str
    id: str = Field(validation_alias="event_id")
    type: str
    subject: str
    received_at: datetime
    published_at: datetime | None
    topic: str = PARTNER_EVENTS.name
    partition: int | None
    offset: int | None
    routing: dict[str, Any] | None = Field(
        default=None,
        description="What routing did with the event, once it reported: outcome (applied, "
        "stored, scheduled, duplicate, expired), declarations re-decided and raised, when.",
    )


class PartnerEventResult(BaseModel):
    """The answer for one event of a request (the only one, or one of a batch)."""

    id: str | None
    source: str | None
    status: int
    outcome: Outcome
    event: PartnerEventView | None = None
    problem: dict[str, Any] | None = None


class BatchResult(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    unavailable: int
    results: list[PartnerEventResult]
