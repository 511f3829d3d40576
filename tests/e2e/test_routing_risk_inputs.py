"""A risk manager, through the running gateway, changes what routing decides with (a
risk input, a rule set) and the next declaration's lane follows: real Kafka, PostgreSQL
and every service."""

from __future__ import annotations

import pytest

from routing_svc.rules.definitions import builtin
from tests.e2e.test_declaration_flow import submit, wait_for_lane
from tests.support.cluster import Cluster, jwt_claims
from tests.support.samples import sample

pytestmark = pytest.mark.e2e

RISK_MANAGER = "demo-risk-manager"
# Tariff lines no other test declares, so these changes alter no other test's lane.
TARIFF_LINE = "85171399"
RULE_TARIFF_LINE = "85177999"


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


def test_an_activated_rule_set_decides_the_next_declaration(cluster: Cluster) -> None:
    """Leaves its rule set active: the built-in rules plus one that fires only on a tariff
    line no other test declares, so every other test's lane stays what it was."""
    definition = builtin().model_dump(mode="json", exclude_none=True)
    definition["rules"].append(
        {
            "id": "handset-parts-check",
            "name": "Handset parts need a document check",
            "expression": f"items.exists(i, i.hs_code == '{RULE_TARIFF_LINE}')",
            "lane": "yellow",
            "reason": "Handset parts ({items.hs_code}) need a document check.",
        }
    )
    body = sample("declaration-individual")
    body["items"][0]["hs_code"] = RULE_TARIFF_LINE
    with cluster.client(RISK_MANAGER) as manager:
        created = manager.post("/api/v1/routing/rule-sets", json=definition)
        assert created.status_code == 201, created.text
        version = created.json()["version"]
        dry_run = manager.post(
            f"/api/v1/routing/rule-sets/{version}/dry-run", json={"declarations": 100}
        )
        activated = manager.post(f"/api/v1/routing/rule-sets/{version}/activation")
    with cluster.client("demo-declarant") as declarant:
        accepted = submit(declarant, body).json()
        declaration = wait_for_lane(declarant, accepted["id"])

    assert dry_run.status_code == 200, dry_run.text
    assert activated.json()["status"] == "active"
    assert declaration["lane"] == "yellow"
    assert declaration["rule_set_version"] == f"rs-{version}"
    assert [r["rule"] for r in declaration["lane_reasons"]] == ["handset-parts-check"]
