"""The event catalog says who consumes what; the services' subscriptions must agree,
or an event would be produced for nobody, or a consumer would wait for nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from customs_shared.events.catalog import EVENT_TYPES, consumed_by
from customs_shared.messaging.consumer import Subscription
from declaration_svc.declarations.consumer import SUBSCRIPTIONS as DECLARATION
from ipr_svc.screening.consumer import SUBSCRIPTIONS as IPR
from routing_svc.lanes.consumer import subscriptions as routing_subscriptions
from routing_svc.lanes.service import LanePolicy
from routing_svc.settings import RoutingSettings
from signature_svc.checks.consumer import SUBSCRIPTIONS as SIGNATURE

ROUTING = routing_subscriptions(
    LanePolicy.from_settings(RoutingSettings(high_value_threshold=Decimal(1)))
)
SERVICES: dict[str, tuple[Subscription[Any], ...]] = {
    "declaration-svc": DECLARATION,
    "signature-svc": SIGNATURE,
    "ipr-svc": IPR,
    "routing-svc": ROUTING,
}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_a_service_subscribes_to_exactly_what_the_catalog_says(service: str) -> None:
    subscribed = [s.event_type.name for s in SERVICES[service]]
    assert len(subscribed) == len(set(subscribed)), "an event type bound twice"
    assert set(subscribed) == consumed_by(service)


def test_every_consumer_the_catalog_names_is_a_service() -> None:
    named = {consumer for event_type in EVENT_TYPES for consumer in event_type.consumers}
    assert named <= set(SERVICES)
