"""The timeout path end to end: IPR screening never comes (ipr-svc is down), so routing
decides at its deadline with what it has, says so, and a result arriving afterwards
changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_declaration_flow import submit, wait_for_lane
from tests.support.cluster import Cluster, wait_for
from tests.support.samples import sample

pytestmark = pytest.mark.e2e

DEADLINE_SECONDS = "2"


def test_a_missing_screening_is_decided_at_the_deadline_and_said(cluster: Cluster) -> None:
    ipr, routing = cluster.processes["ipr-svc"], cluster.processes["routing-svc"]
    ipr.stop()
    routing.stop()
    routing.env["ROUTING_SCREENING_TIMEOUT_SECONDS"] = DEADLINE_SECONDS
    cluster.restart("routing-svc")
    try:
        with cluster.client("demo-declarant") as client:
            accepted = submit(client, sample("declaration-individual")).json()
            declaration = wait_for_lane(client, accepted["id"])
            decision = client.get(f"/api/v1/routing/decisions/{accepted['id']}").json()
    finally:
        cluster.restart("ipr-svc")
        routing.stop()
        del routing.env["ROUTING_SCREENING_TIMEOUT_SECONDS"]
        cluster.restart("routing-svc")

    assert declaration["lane"] == "yellow"
    assert [r["rule"] for r in declaration["lane_reasons"]] == ["screening-incomplete"]
    assert decision["screening_complete"] is False
    assert decision["inputs"]["ipr"] == "no_result"
    assert decision["inputs"]["signature"] == "not_required"

    # ipr-svc back: its late result is recorded, the lane stays as decided.
    with cluster.client("demo-declarant") as client:

        def screened() -> dict[str, Any] | None:
            found: dict[str, Any] = client.get(f"/api/v1/declarations/{accepted['id']}").json()
            events = [e["event"] for e in found["timeline"]]
            return found if "ipr_screened" in events else None

        late = wait_for(screened, 60.0)
        again = client.get(f"/api/v1/routing/decisions/{accepted['id']}").json()
    assert (late["lane"], again["lane"], again["revision"]) == ("yellow", "yellow", 1)
