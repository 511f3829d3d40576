"""Officers' decisions move a declaration through its lifecycle; an illegal move is 409."""

from __future__ import annotations

import pytest

from tests.e2e.test_declaration_flow import submit, wait_for_lane
from tests.support.cluster import Cluster
from tests.support.samples import sample

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"


def test_officer_releases_then_a_second_decision_is_409(cluster: Cluster) -> None:
    with cluster.client("demo-broker") as broker:
        accepted = submit(broker, sample("declaration-enterprise")).json()
        wait_for_lane(broker, accepted["id"])
    url = f"/api/v1/declarations/{accepted['id']}/status"
    with cluster.client("demo-officer") as officer:
        released = officer.post(url, json={"status": "RELEASED", "reason": "Papers in order."})
        again = officer.post(url, json={"status": "HELD", "reason": "Second thoughts."})
    with cluster.client("demo-broker") as broker:
        by_broker = broker.post(url, json={"status": "RELEASED", "reason": "Please."})
        shown = broker.get(f"/api/v1/declarations/{accepted['id']}").json()
    assert released.status_code == 200, released.text
    assert released.json()["status"] == "RELEASED"
    assert again.status_code == 409
    assert again.headers["content-type"] == PROBLEM
    assert again.json()["type"].endswith("/illegal-status-transition")
    assert "closed" in again.json()["detail"]
    assert by_broker.status_code == 403
    last = shown["timeline"][-1]
    assert (last["actor"], last["from_status"], last["to_status"]) == (
        "demo-officer",
        "LANE_YELLOW",
        "RELEASED",
    )
    assert last["detail"] == "Papers in order."


def test_another_tenant_cannot_see_or_decide(cluster: Cluster) -> None:
    with cluster.client("demo-broker") as broker:
        accepted = submit(broker, sample("declaration-enterprise")).json()
    with cluster.client("demo-broker-b") as other:
        seen = other.get(f"/api/v1/declarations/{accepted['id']}")
    assert seen.status_code == 404
