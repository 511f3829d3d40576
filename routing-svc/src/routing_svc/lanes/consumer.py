from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from customs_shared.events import catalog
from customs_shared.events.catalog import EventType
from customs_shared.messaging.consumer import Handler
from routing_svc.lanes.rules import Policy
from routing_svc.lanes.service import Router
from routing_svc.settings import RoutingSettings


def build_router(settings: RoutingSettings) -> Router:
    return Router(
        Policy(high_value_threshold=settings.high_value_threshold),
        timedelta(seconds=settings.screening_timeout_seconds),
    )


def handlers(settings: RoutingSettings) -> Mapping[EventType, Handler]:
    router = build_router(settings)
    return {
        catalog.DECLARATION_SUBMITTED: router.on_submitted,
        catalog.SIGNATURE_CHECKED: router.on_signature,
        catalog.IPR_SCREENED: router.on_ipr,
    }
