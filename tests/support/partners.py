"""Partner events pushed through the gateway as a partner agency sends them, and a wait
until routing-svc has reported what it did with them (the partner's read-back)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx

from tests.support.cluster import wait_for
from tests.support.samples import sample

PARTNER = "demo-partner-agency"
SOURCE = "urn:customs:partner:vn-port-radiation"  # deploy/local/clients.json
CLOUDEVENT = {"Content-Type": "application/cloudevents+json"}


def sample_origin_certificate() -> dict[str, Any]:
    """The e-C/O proving the preferential origin that samples/declaration-enterprise.json
    claims: without it, that declaration goes yellow (preferential-origin-unproven)."""
    return sample("partner-origin-certificate")


def push(partner: httpx.Client, event: dict[str, Any]) -> str:
    """Pushes one CloudEvent; its outcome (``accepted`` or ``duplicate``)."""
    response = partner.post("/api/v1/partner-events", content=json.dumps(event), headers=CLOUDEVENT)
    assert response.status_code == 202, response.text
    outcome: str = response.json()["outcome"]
    return outcome


def routing_report(partner: httpx.Client, event: dict[str, Any]) -> dict[str, Any] | None:
    """What routing reported on ``event``, from the partner's read-back; None before."""
    response = partner.get(
        f"/api/v1/partner-events/{quote(event['source'], safe='')}/{event['id']}"
    )
    assert response.status_code == 200, response.text
    report: dict[str, Any] | None = response.json()["routing"]
    return report


def push_and_wait_until_handled(
    partner: httpx.Client, event: dict[str, Any], timeout: float = 20
) -> dict[str, Any]:
    """Pushes ``event`` and waits until routing-svc reported what it did with it (the
    partner's read-back); the report. A duplicate's report is the first push's."""
    push(partner, event)
    report: dict[str, Any] | None = None

    def reported() -> bool:
        nonlocal report
        report = routing_report(partner, event)
        return report is not None

    wait_for(reported, timeout)
    assert report is not None
    return report
