"""Partner intelligence end to end: a partner agency pushes CloudEvents through the
gateway, routing keeps them and re-decides the declarations they concern, and
declaration-svc shows the new lane and its timeline."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from stdnum import iso6346

from tests.support.cluster import Cluster, wait_for
from tests.support.partners import PARTNER, SOURCE, push, push_and_wait_until_handled
from tests.support.samples import sample

pytestmark = pytest.mark.e2e

DECLARANT = "demo-declarant"  # an individual: no signature needed, green without risk
TIMEOUT = 20.0


def fresh_container() -> str:
    number = f"TGHU{uuid.uuid4().int % 1_000_000:06d}"
    return number + iso6346.calc_check_digit(number)


def cloudevent(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """As a partner sends it: structured mode, no subject (the gateway sets it)."""
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": SOURCE,
        "type": event_type,
        "time": datetime.now(UTC).isoformat(),
        "datacontenttype": "application/json",
        "data": data,
    }


def declaration(**changes: Any) -> dict[str, Any]:
    body = sample("declaration-individual")
    body.update(changes)
    return body


def submit(client: httpx.Client, body: dict[str, Any]) -> str:
    response = client.post("/api/v1/declarations", json=body)
    assert response.status_code == 202, response.text
    declaration_id: str = response.json()["id"]
    return declaration_id


def wait_for_status(client: httpx.Client, declaration_id: str, *statuses: str) -> dict[str, Any]:
    def seen() -> dict[str, Any] | None:
        body: dict[str, Any] = client.get(f"/api/v1/declarations/{declaration_id}").json()
        return body if body["status"] in statuses else None

    found: dict[str, Any] = wait_for(seen, TIMEOUT)
    return found


def rules(body: dict[str, Any]) -> list[str]:
    return [reason["rule"] for reason in body["lane_reasons"]]


def test_a_radiation_alarm_sends_the_containers_declarations_red(cluster: Cluster) -> None:
    container = fresh_container()
    with cluster.client(DECLARANT) as client:
        green_id = submit(client, declaration(containers=[container]))
        green = wait_for_status(client, green_id, "LANE_GREEN", "LANE_YELLOW", "LANE_RED")
        assert green["status"] == "LANE_GREEN", green["lane_reasons"]

        alarm = cloudevent(
            "customs.partner.radiation-alarm.v1",
            {
                "container_number": container,
                "port": "VNHPH",
                "monitor_id": "RPM-HP-07",
                "detected_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
                "level": "alarm",
                "nuclide": "Cs-137",
            },
        )
        with cluster.client(PARTNER) as partner:
            assert push(partner, alarm) == "accepted"
            # The partner reads back what routing did with its alarm.
            report = push_and_wait_until_handled(partner, alarm)
        red = wait_for_status(client, green_id, "LANE_RED")
        decision = client.get(f"/api/v1/routing/decisions/{green_id}").json()

        later_id = submit(client, declaration(containers=[container]))
        later = wait_for_status(client, later_id, "LANE_GREEN", "LANE_YELLOW", "LANE_RED")

    assert red["lane"] == "red"
    [alarm] = [r for r in red["lane_reasons"] if r["rule"] == "radiation-alarm"]
    assert container in alarm["explanation"]
    assert "RPM-HP-07" in alarm["explanation"]
    [redecided] = [e for e in red["timeline"] if e["event"] == "lane_redecided"]
    assert (redecided["from_status"], redecided["to_status"]) == ("LANE_GREEN", "LANE_RED")
    assert redecided["actor"] == "routing-svc"
    assert container in redecided["detail"]
    assert (decision["lane"], decision["revision"]) == ("red", 2)
    assert report["outcome"] == "applied"
    assert report["declarations_raised"] >= 1
    assert container in report["detail"]
    # A declaration carrying the container after the alarm is red from its first decision.
    assert later["status"] == "LANE_RED"
    assert "radiation-alarm" in rules(later)
    assert not [e for e in later["timeline"] if e["event"] == "lane_redecided"]


def claiming(reference: str) -> dict[str, Any]:
    body = declaration()
    body["items"][0]["preferential_origin"] = {"form": "AK", "certificate_number": reference}
    return body


def test_a_preferential_claim_needs_an_e_co_from_the_exporting_country(
    cluster: Cluster,
) -> None:
    proven_reference = f"AK-{uuid.uuid4().hex[:10].upper()}"
    # The sample's item: a smartphone (8517.13) of Korean origin, imported by an individual.
    certificate = cloudevent(
        "customs.partner.origin-certificate.v1",
        {
            "reference": proven_reference,
            "form": "AK",
            "exporting_country": "KR",
            "importing_country": "VN",
            "exporter_name": "Seoul Mobile Export Co",
            "hs_subheadings": ["851713"],
            "issued_at": (datetime.now(UTC) - timedelta(days=3)).isoformat(),
            "status": "issued",
        },
    )
    with cluster.client(PARTNER) as partner:
        push_and_wait_until_handled(partner, certificate)
    with cluster.client(DECLARANT) as client:
        unproven_id = submit(client, claiming(f"AK-{uuid.uuid4().hex[:10].upper()}"))
        proven_id = submit(client, claiming(proven_reference))
        lanes = ("LANE_GREEN", "LANE_YELLOW", "LANE_RED")
        unproven = wait_for_status(client, unproven_id, *lanes)
        proven = wait_for_status(client, proven_id, *lanes)

    assert unproven["status"] == "LANE_YELLOW"
    assert "preferential-origin-unproven" in rules(unproven)
    assert "preferential-origin-unproven" not in rules(proven)
    assert proven["status"] == "LANE_GREEN", proven["lane_reasons"]
