"""Brokers' notifications: webhook subscriptions and the pull queue of their tenant's
declaration.* changes (the mechanism is customs_shared.notifications)."""

from __future__ import annotations

from customs_shared.auth import TRADERS, TRADERS_AND_CUSTOMS, Scope, allow
from customs_shared.notifications.api import notification_router

router = notification_router(
    prefix="/api/v1/declarations",
    area="declaration",
    subscriber=allow(Scope.DECLARATIONS_WRITE, TRADERS),
    reader=allow(Scope.DECLARATIONS_READ, TRADERS_AND_CUSTOMS),
    who="tenant",
)
