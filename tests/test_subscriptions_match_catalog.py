"""The event catalog says who consumes what; each service's subscriptions must agree,
or an event would be produced for nobody, or a consumer would wait for nothing. A
service whose subscriptions disagree refuses to be built."""

from __future__ import annotations

import importlib

import pytest
from fastapi import FastAPI

from customs_shared.app import check_subscriptions
from customs_shared.events import catalog
from customs_shared.events.catalog import EVENT_TYPES, consumed_by
from customs_shared.messaging.consumer import Subscription
from customs_shared.services import DOMAIN_SERVICES, SERVICES, ServiceSpec


def _app(spec: ServiceSpec) -> FastAPI:
    app: FastAPI = importlib.import_module(f"{spec.package}.main").create_app()
    return app


@pytest.mark.parametrize("spec", DOMAIN_SERVICES, ids=lambda s: s.name)
def test_a_service_subscribes_to_exactly_what_the_catalog_says(spec: ServiceSpec) -> None:
    subscribed = [s.event_type.name for s in _app(spec).state.subscriptions]
    assert sorted(subscribed) == sorted(consumed_by(spec.name))


def test_every_producer_and_consumer_the_catalog_names_is_a_service() -> None:
    names = {spec.name for spec in SERVICES}
    for event_type in EVENT_TYPES:
        assert event_type.producer in names
        assert set(event_type.consumers) <= names


async def _ignore(session: object, data: object) -> None:
    return None


def test_a_service_with_other_subscriptions_is_refused() -> None:
    lane = Subscription(catalog.LANE_ASSIGNED, _ignore)
    with pytest.raises(RuntimeError, match="event catalog"):
        check_subscriptions("ipr-svc", [lane])  # not a consumer of lanes
    with pytest.raises(RuntimeError, match="event catalog"):
        check_subscriptions("declaration-svc", [lane])  # misses the signature and IPR results
    expected = [
        Subscription({t.name: t for t in EVENT_TYPES}[name], _ignore)
        for name in consumed_by("ipr-svc")
    ]
    check_subscriptions("ipr-svc", expected)
    with pytest.raises(RuntimeError, match="event catalog"):
        check_subscriptions("ipr-svc", [*expected, expected[0]])  # one bound twice
