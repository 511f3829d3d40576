"""Amend → re-screened by every service → new lane, the old version still readable;
a stale If-Match is 412; cancellation with a reason. Through the gateway, on real Kafka."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.test_declaration_flow import LANE_TIMEOUT, submit, wait_for_lane
from tests.support.cluster import Cluster, wait_for
from tests.support.pki import Pki, register_signers
from tests.support.samples import sample, signed

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"


def wait_for_version_lane(client: httpx.Client, url: str, version: int) -> dict[str, Any]:
    def laned() -> dict[str, Any] | None:
        body: dict[str, Any] = client.get(url).json()
        return body if body["version"] == version and body.get("lane") else None

    result: dict[str, Any] = wait_for(laned, LANE_TIMEOUT)
    return result


def test_amend_rescreens_and_the_newest_lane_is_current(cluster: Cluster, test_pki: Pki) -> None:
    with cluster.client("demo-admin") as admin:
        register_signers(admin, test_pki)
    with cluster.client("demo-broker") as client:
        accepted = submit(client, sample("declaration-enterprise")).json()
        first = wait_for_lane(client, accepted["id"])
        url = accepted["status_url"]
        etag = client.get(url).headers["etag"]
        amended = client.put(
            url, json=signed(sample("declaration-enterprise"), test_pki), headers={"If-Match": etag}
        )
        stale = client.put(url, json=sample("declaration-enterprise"), headers={"If-Match": etag})
        missing = client.put(url, json=sample("declaration-enterprise"))
        second = wait_for_version_lane(client, url, 2)
        old = client.get(f"{url}/versions/1")
        routing = client.get(f"/api/v1/routing/decisions/{accepted['id']}")
    assert first["lane"] == "yellow"  # unsigned
    assert etag == '"v1"'
    assert amended.status_code == 202, amended.text
    assert amended.headers["etag"] == '"v2"'
    assert amended.json()["version"] == 2
    assert stale.status_code == 412
    assert stale.headers["content-type"] == PROBLEM
    assert stale.json()["current_etag"] == '"v2"'
    assert missing.status_code == 428
    assert second["lane"] == "green"  # signed now: signature, IPR and routing decided again
    assert second["signature_status"] == "valid"  # verified against the test PKI
    assert [e["event"] for e in second["timeline"]].count("lane_assigned") == 2
    assert old.status_code == 200
    assert (old.json()["version"], old.json()["lane"]) == (1, "yellow")
    assert routing.json()["lane"] == "green"


def test_cancel_with_a_reason(cluster: Cluster) -> None:
    with cluster.client("demo-broker") as client:
        accepted = submit(client, sample("declaration-individual")).json()
        url = accepted["status_url"]
        cancelled = client.post(f"{url}/cancel", json={"reason": "Order withdrawn."})
        again = client.post(f"{url}/cancel", json={"reason": "Twice."})
        amend = client.put(url, json=sample("declaration-individual"), headers={"If-Match": '"v1"'})
    with cluster.client("demo-broker-b") as other:
        foreign = other.post(f"{url}/cancel", json={"reason": "Not mine."})
        foreign_version = other.get(f"{url}/versions/1")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "CANCELLED"
    assert cancelled.json()["timeline"][-1]["detail"] == "Order withdrawn."
    assert again.status_code == 409
    assert amend.status_code == 409
    assert again.headers["content-type"] == PROBLEM
    assert foreign.status_code == 404
    assert foreign_version.status_code == 404
