"""Declarations in a foreign currency: operators load customs rates, the service converts
to VND, and routing's high-value rule sees the VND value."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.test_declaration_flow import submit, wait_for_lane
from tests.support.cluster import Cluster
from tests.support.pki import Pki, register_signers
from tests.support.samples import sample, signed

pytestmark = pytest.mark.e2e

RATES = "/api/v1/declarations/exchange-rates"
PROBLEM = "application/problem+json"


def test_a_usd_declaration_over_the_vnd_threshold_goes_yellow_for_high_value(
    cluster: Cluster, test_pki: Pki
) -> None:
    with cluster.client("demo-admin") as admin:
        register_signers(admin, test_pki)  # validly signed: high value is the only reason
        loaded = admin.post(
            RATES,
            json={
                "rates": [{"currency": "USD", "valid_from": "2000-01-01", "vnd_per_unit": "25400"}]
            },
        )
    assert loaded.status_code == 200, loaded.text
    assert loaded.json() == {"loaded": 1}
    with cluster.client("demo-broker") as client:
        accepted = submit(client, signed(sample("declaration-usd"), test_pki))
        assert accepted.status_code == 202, accepted.text
        declaration = wait_for_lane(client, accepted.json()["id"])
        rate = client.get(f"{RATES}/USD")
    # 90,000 USD x 25,400 = 2,286,000,000 VND, over the 2,000,000,000 VND threshold.
    assert declaration["currency"] == "USD"
    assert float(declaration["total_customs_value_vnd"]) == 2_286_000_000
    assert declaration["lane"] == "yellow"
    assert [r["rule"] for r in declaration["lane_reasons"]] == ["high-value"]
    assert "90,000" in declaration["lane_reasons"][0]["explanation"]
    assert rate.status_code == 200
    assert float(rate.json()["vnd_per_unit"]) == 25_400


def test_no_rate_for_the_currency_is_a_clear_422(cluster: Cluster) -> None:
    body = sample("declaration-usd")
    body["currency"] = "NZD"
    body["invoice"]["currency"] = "NZD"
    key = f"nzd-{uuid.uuid4()}"
    with cluster.client("demo-broker") as client:
        refused = client.post("/api/v1/declarations", json=body, headers={"Idempotency-Key": key})
        # The key was not spent on the refused request: with a rate it goes through.
        missing = client.get(f"{RATES}/NZD")
    assert refused.status_code == 422
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["type"].endswith("/exchange-rate-missing")
    assert "NZD" in refused.json()["detail"]
    assert missing.status_code == 404
    with cluster.client("demo-admin") as admin:
        admin.post(
            RATES,
            json={
                "rates": [{"currency": "NZD", "valid_from": "2000-01-01", "vnd_per_unit": "15000"}]
            },
        )
    with cluster.client("demo-broker") as client:
        retried = client.post("/api/v1/declarations", json=body, headers={"Idempotency-Key": key})
    assert retried.status_code == 202, retried.text


@pytest.mark.parametrize("client_id", ["demo-broker", "demo-officer"])
def test_only_administrators_load_rates(cluster: Cluster, client_id: str) -> None:
    with cluster.client(client_id) as client:
        response = client.post(
            RATES,
            json={"rates": [{"currency": "USD", "valid_from": "2000-01-01", "vnd_per_unit": "1"}]},
        )
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM


def test_a_bad_rate_names_the_field(cluster: Cluster) -> None:
    with cluster.client("demo-admin") as admin:
        response = admin.post(
            RATES,
            json={"rates": [{"currency": "XXQ", "valid_from": "2000-01-01", "vnd_per_unit": "0"}]},
        )
    assert response.status_code == 422
    locations = {tuple(e["loc"]) for e in response.json()["errors"]}
    assert {("body", "rates", 0, "currency"), ("body", "rates", 0, "vnd_per_unit")} <= locations
