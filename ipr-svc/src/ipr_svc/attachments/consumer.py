from __future__ import annotations

from typing import Any

from customs_shared.events import catalog
from customs_shared.messaging.consumer import Subscription
from ipr_svc.attachments import service

SUBSCRIPTIONS: tuple[Subscription[Any], ...] = (
    Subscription(catalog.IPR_ATTACHMENT_SIGNATURE_CHECKED, service.record_signature_check),
)
