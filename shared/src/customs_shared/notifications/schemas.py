from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, UrlConstraints

# "<area>.<event>", e.g. declaration.lane_assigned or ipr.suspension_opened; "*" for all.
EVENT_TYPE_PATTERN = r"^(\*|[a-z]{1,20}\.[a-z_]{1,40})$"


# A URL a service may call back (or show an officer): http(s), and short enough for the
# 2000-character columns that keep it (longer was a database error, a 500).
CallbackUrl = Annotated[AnyHttpUrl, UrlConstraints(max_length=2000)]


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: CallbackUrl = Field(
        description="Where notifications are POSTed: https, at a public address (plain http "
        "and private addresses only where the operator allows private targets)."
    )
    event_types: list[Annotated[str, Field(pattern=EVENT_TYPE_PATTERN)]] = Field(
        default=["*"],
        min_length=1,
        max_length=50,
        description='e.g. "declaration.lane_assigned" or "ipr.suspension_opened"; "*" for all.',
    )


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    event_types: list[str]
    enabled: bool
    consecutive_failures: int
    last_error: str | None
    created_at: datetime


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(description="Verifies the webhook-signature header; shown only now.")


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    type: str
    data: dict[str, Any]
    created_at: datetime


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None = Field(description="Pass as `after` for what follows.")
