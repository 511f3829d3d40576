"""Retries are safe, bad input gets a clear problem+json 4xx, nothing accepted is lost."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.cluster import Cluster, wait_for
from tests.support.samples import sample

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"


def test_same_idempotency_key_gives_the_same_declaration(cluster: Cluster) -> None:
    key = str(uuid.uuid4())
    body = sample("declaration-enterprise")
    with cluster.client("demo-broker") as client:
        first = client.post("/api/v1/declarations", json=body, headers={"Idempotency-Key": key})
        second = client.post("/api/v1/declarations", json=body, headers={"Idempotency-Key": key})
        laned = wait_for(
            lambda: (d := client.get(first.headers["location"]).json())["lane"] and d, timeout=30
        )
        # Once the declaration has moved on, a retry still gets the original response.
        third = client.post("/api/v1/declarations", json=body, headers={"Idempotency-Key": key})
        listed = client.get("/api/v1/declarations", params={"limit": 100}).json()["items"]
    assert first.status_code == second.status_code == third.status_code == 202
    assert laned["status"] != "RECEIVED"
    assert first.json()["status"] == "RECEIVED"
    assert second.json() == third.json() == first.json()  # id, status, status URL, receipt
    assert second.headers["location"] == third.headers["location"] == first.headers["location"]
    assert second.headers["idempotent-replayed"] == third.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert sum(1 for d in listed if d["id"] == first.json()["id"]) == 1


def test_idempotency_key_reused_with_another_body_is_refused(cluster: Cluster) -> None:
    key = str(uuid.uuid4())
    body = sample("declaration-enterprise")
    other = sample("declaration-enterprise")
    other["items"][0]["quantity"] = "1300"
    with cluster.client("demo-broker") as client:
        first = client.post("/api/v1/declarations", json=body, headers={"Idempotency-Key": key})
        second = client.post("/api/v1/declarations", json=other, headers={"Idempotency-Key": key})
        kept = client.get(first.json()["status_url"])
    assert second.status_code == 422
    assert second.headers["content-type"] == PROBLEM
    assert second.json()["type"].endswith("/idempotency-key-reused")
    assert kept.status_code == 200
    assert kept.json()["items"][0]["quantity"] in ("1200", "1200.0000")


def test_idempotency_keys_are_per_tenant(cluster: Cluster) -> None:
    key = str(uuid.uuid4())
    body = sample("declaration-enterprise")
    with cluster.client("demo-broker") as a, cluster.client("demo-broker-b") as b:
        first = a.post("/api/v1/declarations", json=body, headers={"Idempotency-Key": key})
        second = b.post("/api/v1/declarations", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] != second.json()["id"]


def test_malformed_declaration_gets_problem_details(cluster: Cluster) -> None:
    with cluster.client("demo-broker") as client:
        response = client.post("/api/v1/declarations", json=sample("declaration-malformed"))
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 422
    assert problem["title"]
    locations = {tuple(e["loc"]) for e in problem["errors"]}
    assert ("body", "currency") in locations
    assert ("body", "items") in locations
    assert any(loc[:2] == ("body", "declarant") for loc in locations)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"", "application/json"),
        (b"[]", "application/json"),
        (b"declarant=x", "application/x-www-form-urlencoded"),
        ('{"declarant": "\udcff"}'.encode("utf-8", "surrogatepass"), "application/json"),
    ],
)
def test_unparseable_bodies_get_4xx_problems(
    cluster: Cluster, content: bytes, content_type: str
) -> None:
    with cluster.client("demo-broker") as client:
        response = client.post(
            "/api/v1/declarations", content=content, headers={"Content-Type": content_type}
        )
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == PROBLEM


def test_invalid_tax_code_and_container_are_named(cluster: Cluster) -> None:
    body = sample("declaration-enterprise")
    body["declarant"]["tax_code"] = "0314409059"
    body["containers"] = ["CSQU3054384"]
    with cluster.client("demo-broker") as client:
        response = client.post("/api/v1/declarations", json=body)
    assert response.status_code == 422
    messages = " ".join(e["msg"] for e in response.json()["errors"])
    assert "tax code" in messages
    assert "container" in messages


def test_oversized_body_is_refused_with_413(cluster: Cluster) -> None:
    body = sample("declaration-enterprise")
    body["items"][0]["description"] = "x" * 480
    body["items"] = body["items"] * 2000  # ~2 MB, over the 1 MiB cap
    with cluster.client("demo-broker") as client:
        response = client.post("/api/v1/declarations", json=body)
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


def test_unknown_declaration_is_404_problem(cluster: Cluster) -> None:
    with cluster.client("demo-broker") as client:
        response = client.get(f"/api/v1/declarations/{uuid.uuid4()}")
        not_uuid = client.get("/api/v1/declarations/not-a-uuid")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert not_uuid.status_code == 422


def test_concurrent_retries_with_one_key_create_one_declaration(cluster: Cluster) -> None:
    """A retry racing the request still in flight gets 409; any that come after it
    get the original answer; one declaration in all."""
    key = str(uuid.uuid4())
    body = sample("declaration-enterprise")

    def post(_: int) -> tuple[int, dict[str, str]]:
        with cluster.client("demo-broker") as client:
            response = client.post(
                "/api/v1/declarations", json=body, headers={"Idempotency-Key": key}
            )
            return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(post, range(16)))
    assert {status for status, _ in results} <= {202, 409}
    accepted = {answer["id"] for status, answer in results if status == 202}
    assert len(accepted) == 1
    in_flight = [answer for status, answer in results if status == 409]
    assert all(a["type"].endswith("/idempotent-request-in-flight") for a in in_flight)
    status, last = post(0)
    assert status == 202
    assert {last["id"]} == accepted


def test_one_problem_lists_every_bad_code(cluster: Cluster) -> None:
    body = sample("declaration-enterprise")
    body["currency"] = "XXQ"
    body["countries"]["trading"] = "QQ"
    body["items"][0]["hs_code"] = "85258010"  # 8525.80 was split up by HS 2022
    body["items"][1]["unit"] = "PAIRS"
    body["incoterm"] = "DAT"
    with cluster.client("demo-broker") as client:
        response = client.post("/api/v1/declarations", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    errors = {tuple(e["loc"]): e["msg"] for e in response.json()["errors"]}
    assert "ISO 4217" in errors["body", "currency"]
    assert "ISO 3166" in errors["body", "countries", "trading"]
    assert "that HS 2022 deleted" in errors["body", "items", 0, "hs_code"]
    assert "Recommendation 20" in errors["body", "items", 1, "unit"]
    assert ("body", "incoterm") in errors
