"""Token → submit → screenings → lane, all through the gateway on real Kafka and PostgreSQL."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.support.cluster import Cluster, wait_for
from tests.support.pki import Pki, register_signers
from tests.support.samples import sample, signed

pytestmark = pytest.mark.e2e

LANE_TIMEOUT = 15.0


def submit(client: httpx.Client, body: dict[str, Any], **headers: str) -> httpx.Response:
    return client.post("/api/v1/declarations", json=body, headers=headers)


def wait_for_lane(client: httpx.Client, declaration_id: str) -> dict[str, Any]:
    def lane_seen() -> dict[str, Any] | None:
        body: dict[str, Any] = client.get(f"/api/v1/declarations/{declaration_id}").json()
        return body if body.get("lane") else None

    result: dict[str, Any] = wait_for(lane_seen, LANE_TIMEOUT)
    return result


def test_token_is_an_eddsa_jwt_for_the_cluster(cluster: Cluster) -> None:
    response = httpx.post(
        f"{cluster.gateway}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("demo-broker", "demo-broker-secret"),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"].lower() == "bearer"
    assert body["expires_in"] > 0
    assert response.headers["cache-control"] == "no-store"


def test_enterprise_signed_declaration_goes_green_with_reasons(
    cluster: Cluster, test_pki: Pki
) -> None:
    with cluster.client("demo-admin") as admin:
        register_signers(admin, test_pki)
    with cluster.client("demo-broker") as client:
        started = time.monotonic()
        response = submit(client, signed(sample("declaration-enterprise"), test_pki))
        assert response.status_code == 202, response.text
        accepted = response.json()
        assert accepted["status"] == "RECEIVED"
        assert response.headers["location"] == accepted["status_url"]

        declaration = wait_for_lane(client, accepted["id"])
        elapsed = time.monotonic() - started

    assert declaration["lane"] == "green"
    assert declaration["status"] == "LANE_GREEN"
    assert declaration["signature_status"] == "valid"
    assert declaration["ipr_outcome"] == "no_records"
    assert [r["rule"] for r in declaration["lane_reasons"]] == ["no-risk-found"]
    assert declaration["rule_set_version"]
    events = [entry["event"] for entry in declaration["timeline"]]
    assert events[0] == "submitted"
    assert events[-1] == "lane_assigned"
    assert {"signature_checked", "ipr_screened"} <= set(events)
    assert declaration["total_customs_value"] in ("231000000", "231000000.0000")
    assert [item["line"] for item in declaration["items"]] == [1, 2]
    assert elapsed < LANE_TIMEOUT


def test_unsigned_enterprise_declaration_goes_yellow_and_says_why(cluster: Cluster) -> None:
    with cluster.client("demo-broker") as client:
        accepted = submit(client, sample("declaration-enterprise")).json()
        declaration = wait_for_lane(client, accepted["id"])
        decision = client.get(f"/api/v1/routing/decisions/{accepted['id']}")
        signature = client.get(f"/api/v1/signatures/checks/{accepted['id']}")
        screening = client.get(f"/api/v1/ipr/screenings/{accepted['id']}")

    assert declaration["lane"] == "yellow"
    assert declaration["signature_status"] == "missing"
    assert [r["rule"] for r in declaration["lane_reasons"]] == ["enterprise-signature-missing"]
    assert decision.status_code == 200
    assert decision.json()["lane"] == "yellow"
    assert decision.json()["inputs"]["signature"] == "missing"
    assert signature.json()["status"] == "missing"
    assert screening.json()["outcome"] == "no_records"


def test_individual_needs_no_signature(cluster: Cluster) -> None:
    with cluster.client("demo-declarant") as client:
        accepted = submit(client, sample("declaration-individual")).json()
        declaration = wait_for_lane(client, accepted["id"])
    assert declaration["signature_status"] == "not_required"
    assert declaration["lane"] == "green"


def test_high_value_declaration_gets_a_document_check(cluster: Cluster, test_pki: Pki) -> None:
    with cluster.client("demo-admin") as admin:
        register_signers(admin, test_pki)
    body = sample("declaration-enterprise")
    body["items"][0]["customs_value"] = "2500000000"
    body["invoice"]["total"] = "2635000000"
    body = signed(body, test_pki)
    with cluster.client("demo-broker") as client:
        accepted = submit(client, body).json()
        declaration = wait_for_lane(client, accepted["id"])
    assert declaration["lane"] == "yellow"
    assert [r["rule"] for r in declaration["lane_reasons"]] == ["high-value"]


def test_list_is_paged_and_newest_first(cluster: Cluster) -> None:
    with cluster.client("demo-broker") as client:
        ids = [submit(client, sample("declaration-individual")).json()["id"] for _ in range(3)]
        first = client.get("/api/v1/declarations", params={"limit": 2}).json()
        second = client.get(
            "/api/v1/declarations", params={"limit": 2, "cursor": first["next_cursor"]}
        ).json()
        too_big = client.get("/api/v1/declarations", params={"limit": 1000})
    assert [d["id"] for d in first["items"]] == ids[::-1][:2]
    assert second["items"][0]["id"] == ids[0]
    assert too_big.status_code == 422
    assert too_big.headers["content-type"] == "application/problem+json"
