from __future__ import annotations

from typing import Any

from customs_shared.events import catalog
from customs_shared.messaging.consumer import Subscription
from signature_svc.checks import service

SUBSCRIPTIONS: tuple[Subscription[Any], ...] = (
    Subscription(catalog.DECLARATION_SUBMITTED, service.check_declaration),
    Subscription(catalog.DECLARATION_AMENDED, service.recheck_amended),
)
