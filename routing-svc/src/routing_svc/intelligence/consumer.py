"""The partner events routing keeps as intelligence, each bound to its handler."""

from __future__ import annotations

from functools import partial
from typing import Any

from customs_shared.events import catalog
from customs_shared.messaging.consumer import Subscription
from routing_svc.intelligence import service
from routing_svc.intelligence.service import IntelligencePolicy


def subscriptions(policy: IntelligencePolicy) -> tuple[Subscription[Any], ...]:
    return (
        Subscription(
            catalog.PARTNER_RADIATION_ALARM, partial(service.on_radiation_alarm, policy=policy)
        ),
        Subscription(
            catalog.PARTNER_ORIGIN_CERTIFICATE,
            partial(service.on_origin_certificate, policy=policy),
        ),
        Subscription(catalog.PARTNER_RISK_ALERT, partial(service.on_risk_alert, policy=policy)),
    )
