"""IPR through the gateway on real Kafka and PostgreSQL: an officer imports a record, it
reaches ipr-svc's in-memory index through the compacted topic, a counterfeit is hit, the
officer suspends, the holder sees it in its pull list and confirms."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.cluster import Cluster, wait_for
from tests.support.samples import sample

pytestmark = pytest.mark.e2e

HOLDER_TENANT = "0104567890"  # demo-right-holder


def test_import_screen_suspend_and_the_holder_confirms(cluster: Cluster) -> None:
    registration = f"VN-4-{uuid.uuid4().hex[:8]}"
    csv_body = (
        "registration_number,right_type,owner,brands,hs_headings,authorised_importers,"
        "offices,valid_from,valid_until,holder_tax_code\n"
        f"{registration},trademark,Acme Sportswear,Zyntrax;Zyntrax Pro,8517,,,"
        f"2020-01-01,2099-01-01,{HOLDER_TENANT}\n"
    )
    with cluster.client("demo-officer") as officer:
        response = officer.post(
            "/api/v1/ipr/records/import",
            content=csv_body.encode(),
            headers={"content-type": "text/csv"},
        )
        assert response.status_code == 200, response.text
        report = response.json()
        assert (report["imported"], report["rejected"]) == (1, 0), report
        record_id = report["rows"][0]["record_id"]

    body: dict[str, Any] = sample("declaration-individual")
    body["items"][0]["brand"] = "ZYNTRAXX"  # one edit from the mark, other case
    body["items"][0]["description"] = "Smartphone zyntrax-pro, personal use"
    with cluster.client("demo-declarant") as declarant:
        response = declarant.post("/api/v1/declarations", json=body)
        assert response.status_code == 202, response.text
        declaration_id = response.json()["id"]

        def screened() -> dict[str, Any] | None:
            found = declarant.get(f"/api/v1/ipr/screenings/{declaration_id}")
            return found.json() if found.status_code == 200 else None

        screening = wait_for(screened, 30.0)
    assert screening["outcome"] == "hit", screening
    assert {h["record_id"] for h in screening["hits"]} == {record_id}

    with cluster.client("demo-officer") as officer:
        response = officer.post(
            "/api/v1/ipr/suspensions",
            json={
                "declaration_id": declaration_id,
                "record_id": record_id,
                "item_line": 1,
                "reason": "brand of a recorded right on phones",
            },
        )
        assert response.status_code == 201, response.text
        suspension = response.json()
    with cluster.client("demo-declarant") as declarant:

        def held() -> dict[str, Any] | None:
            found: dict[str, Any] = declarant.get(f"/api/v1/declarations/{declaration_id}").json()
            return found if found.get("status") == "HELD" else None

        assert wait_for(held, 30.0)["status"] == "HELD"
    with cluster.client("demo-right-holder") as holder:
        hits = holder.get("/api/v1/ipr/hits").json()["items"]
        assert (declaration_id, record_id) in {(h["declaration_id"], h["record_id"]) for h in hits}
        listed = holder.get("/api/v1/ipr/suspensions").json()["items"]
        assert suspension["id"] in {s["id"] for s in listed}
        response = holder.post(f"/api/v1/ipr/suspensions/{suspension['id']}/confirm")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "confirmed"
    with cluster.client("demo-broker") as other:
        assert other.get("/api/v1/ipr/suspensions").status_code == 403
