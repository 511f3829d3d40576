"""Results other services publish about a declaration, applied to it."""

from __future__ import annotations

from collections.abc import Mapping

from customs_shared.events import catalog
from customs_shared.events.catalog import EventType
from customs_shared.messaging.consumer import Handler
from declaration_svc.declarations import service

HANDLERS: Mapping[EventType, Handler] = {
    catalog.SIGNATURE_CHECKED: service.record_signature_result,
    catalog.IPR_SCREENED: service.record_ipr_result,
    catalog.LANE_ASSIGNED: service.record_lane,
}
