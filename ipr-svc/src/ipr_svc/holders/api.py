"""Right holders' notifications: webhook subscriptions and the pull queue of their ipr.*
news — suspensions of release on their rights, decisions on their applications (the
mechanism is customs_shared.notifications)."""

from __future__ import annotations

from customs_shared.auth import RIGHT_HOLDERS, RIGHT_HOLDERS_AND_CUSTOMS, Scope, allow
from customs_shared.notifications.api import notification_router

router = notification_router(
    prefix="/api/v1/ipr",
    area="ipr",
    subscriber=allow(Scope.IPR_WRITE, RIGHT_HOLDERS),
    reader=allow(Scope.IPR_READ, RIGHT_HOLDERS_AND_CUSTOMS),
    who="right holder",
)
