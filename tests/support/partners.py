"""Partner events pushed through the gateway as a partner agency sends them, and a wait
until routing-svc has handled them (its own metrics count the records it handled)."""

from __future__ import annotations

import json
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from customs_shared.events.catalog import PARTNER_EVENTS
from tests.support.cluster import wait_for
from tests.support.samples import sample

PARTNER = "demo-partner-agency"
SOURCE = "urn:customs:partner:vn-port-radiation"  # deploy/local/clients.json
CLOUDEVENT = {"Content-Type": "application/cloudevents+json"}


def sample_origin_certificate() -> dict[str, Any]:
    """The e-C/O proving the preferential origin that samples/declaration-enterprise.json
    claims: without it, that declaration goes yellow (preferential-origin-unproven)."""
    return sample("partner-origin-certificate")


def partner_events_handled(routing_internal_url: str) -> float:
    page = httpx.get(f"{routing_internal_url}/metrics", timeout=10).text
    return sum(
        metric.value
        for family in text_string_to_metric_families(page)
        if family.name == "events_consumed"
        for metric in family.samples
        if metric.name == "events_consumed_total"
        and metric.labels.get("topic") == PARTNER_EVENTS.name
        and metric.labels.get("outcome") == "handled"
    )


def push(partner: httpx.Client, event: dict[str, Any]) -> str:
    """Pushes one CloudEvent; its outcome (``accepted`` or ``duplicate``)."""
    response = partner.post("/api/v1/partner-events", content=json.dumps(event), headers=CLOUDEVENT)
    assert response.status_code == 202, response.text
    outcome: str = response.json()["outcome"]
    return outcome


def push_and_wait_until_handled(
    partner: httpx.Client, event: dict[str, Any], routing_internal_url: str, timeout: float = 20
) -> None:
    """Pushes ``event`` and waits until routing-svc has handled one more partner event (a
    duplicate was handled when it was first pushed)."""
    before = partner_events_handled(routing_internal_url)
    if push(partner, event) == "accepted":
        wait_for(lambda: partner_events_handled(routing_internal_url) > before, timeout)
