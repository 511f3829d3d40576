"""The events routing decides on, each bound to its handler with the lane policy."""

from __future__ import annotations

from functools import partial
from typing import Any

from customs_shared.events import catalog
from customs_shared.messaging.consumer import Subscription
from routing_svc.lanes import service
from routing_svc.lanes.service import LanePolicy


def subscriptions(policy: LanePolicy) -> tuple[Subscription[Any], ...]:
    # The handlers that create a case share one prepare step: a batch's cases are locked
    # (or created) in one statement.
    lock = service.lock_cases
    return (
        Subscription(
            catalog.DECLARATION_SUBMITTED, partial(service.on_submitted, policy=policy), lock
        ),
        Subscription(
            catalog.DECLARATION_AMENDED, partial(service.on_submitted, policy=policy), lock
        ),
        Subscription(catalog.DECLARATION_CANCELLED, service.on_cancelled, lock),
        Subscription(catalog.DECLARATION_STATUS_CHANGED, service.on_status_changed),
        Subscription(catalog.SIGNATURE_CHECKED, partial(service.on_signature, policy=policy), lock),
        Subscription(catalog.IPR_SCREENED, partial(service.on_ipr, policy=policy), lock),
        Subscription(
            catalog.IPR_SUSPENSION_CHANGED, partial(service.on_ipr_suspension, policy=policy)
        ),
    )
