from __future__ import annotations

from typing import Any

from customs_shared.events import catalog
from customs_shared.messaging.consumer import Subscription
from ipr_svc.screening import service

SUBSCRIPTIONS: tuple[Subscription[Any], ...] = (
    Subscription(
        catalog.DECLARATION_SUBMITTED, service.screen_submitted, prepare=service.find_screenings
    ),
    Subscription(catalog.DECLARATION_AMENDED, service.rescreen_amended),
)
