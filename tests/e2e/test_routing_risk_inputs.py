"""A risk manager, through the running gateway, changes what routing decides with and
the next declaration's lane follows: real Kafka, PostgreSQL and every service."""

from __future__ import annotations

import pytest

from tests.e2e.test_declaration_flow import submit, wait_for_lane
from tests.support.cluster import Cluster, jwt_claims
from tests.support.samples import sample

pytestmark = pytest.mark.e2e

RISK_MANAGER = "demo-risk-manager"
# A tariff line no other test declares, so the risk entry changes no other test's lane.
TARIFF_LINE = "85171399"


def test_the_demo_risk_manager_gets_a_token_with_its_role(cluster: Cluster) -> None:
    claims = jwt_claims(cluster.token(RISK_MANAGER))
    assert claims["roles"] == ["risk_manager"]
    assert set(claims["scope"].split()) == {"routing:read", "routing:rules"}
    with cluster.client(RISK_MANAGER) as manager:
        active = manager.get("/api/v1/routing/rule-sets/active")
    with cluster.client("demo-broker") as broker:
        refused = broker.get("/api/v1/routing/rule-sets/active")
    assert active.status_code == 200, active.text
    assert active.json()["label"].startswith(("builtin-", "rs-"))
    assert refused.status_code == 403


def test_an_hs_risk_entry_sends_the_next_declaration_red(cluster: Cluster) -> None:
    path = f"/api/v1/routing/risk-lists/hs-codes/{TARIFF_LINE}"
    body = sample("declaration-individual")
    body["items"][0]["hs_code"] = TARIFF_LINE
    with cluster.client(RISK_MANAGER) as manager:
        put = manager.put(path, json={"level": "high", "reason": "grey-market handsets"})
        assert put.status_code == 201, put.text
        try:
            with cluster.client("demo-declarant") as declarant:
                accepted = submit(declarant, body).json()
                declaration = wait_for_lane(declarant, accepted["id"])
        finally:
            assert manager.delete(path).status_code == 204
        trail = manager.get("/api/v1/routing/audit", params={"subject_prefix": f"hs/{TARIFF_LINE}"})

    assert declaration["lane"] == "red"
    assert [r["rule"] for r in declaration["lane_reasons"]] == ["hs-risk-high"]
    assert "grey-market handsets" in declaration["lane_reasons"][0]["explanation"]
    actions = [e["action"] for e in trail.json()["items"]]
    assert actions[:2] == ["risk-input.deleted", "risk-input.created"]
