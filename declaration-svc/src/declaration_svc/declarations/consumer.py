"""Results other services publish about a declaration, applied to it."""

from __future__ import annotations

from typing import Any

from customs_shared.events import catalog
from customs_shared.messaging.consumer import Subscription
from declaration_svc.declarations import service
from declaration_svc.documents import service as documents

# Every result is about a declaration: a batch's are locked in one statement first.
_LOCK = service.lock_declarations
SUBSCRIPTIONS: tuple[Subscription[Any], ...] = (
    Subscription(catalog.IPR_SUSPENSION_CHANGED, service.record_ipr_suspension, _LOCK),
    # Screening results come with the lane (or forwarded by routing), not from their own
    # topics: one event per declaration instead of three.
    Subscription(catalog.LANE_ASSIGNED, service.record_lane, _LOCK),
    Subscription(catalog.SCREENING_FORWARDED, service.record_forwarded_screening, _LOCK),
    Subscription(catalog.DOCUMENT_SIGNATURE_CHECKED, documents.record_signature_check, _LOCK),
)
