"""Signature verification through the running cluster: each scenario of the test PKI
through POST /api/v1/signatures/verify, the stored report, the registry, CRL uploads,
and declarations whose signature decides their lane."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.cluster import Cluster, wait_for
from tests.support.pki import SCENARIOS, TAX_CODE_A, Pki, Scenario, register_signers
from tests.support.samples import sample, signed

pytestmark = pytest.mark.e2e

VERIFY = "/api/v1/signatures/verify"


@pytest.fixture(scope="module")
def registered(cluster: Cluster, test_pki: Pki) -> Cluster:
    with cluster.client("demo-admin") as admin:
        register_signers(admin, test_pki)
    return cluster


def verify(
    client: httpx.Client, document: bytes, signature: bytes, **fields: str
) -> httpx.Response:
    return client.post(
        VERIFY,
        files={"document": ("document.bin", document), "signature": ("signature.p7s", signature)},
        data={"tax_code": TAX_CODE_A, **fields},
    )


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_each_scenario_gets_its_report(
    registered: Cluster, test_pki: Pki, scenario: Scenario
) -> None:
    document, cms = scenario.files(test_pki)
    fields = {}
    if scenario.without_ca_crl:
        # The cluster has every CRL; past their nextUpdate none is current any more.
        fields["validation_time"] = (datetime.now(UTC) + timedelta(days=60)).isoformat()
    client_id = "demo-officer" if fields else "demo-broker"
    with registered.client(client_id) as client:  # through the gateway, 2.5 MB included
        response = verify(client, document, cms, **fields)
        assert response.status_code == 200, response.text
        report = response.json()
        stored = client.get(f"/api/v1/signatures/reports/{report['id']}")
    assert (report["indication"], report["sub_indication"]) == (
        scenario.indication,
        scenario.sub_indication,
    ), report["checks"]
    assert report["document_sha256"] == hashlib.sha256(document).hexdigest()
    assert stored.json() == report


def test_a_report_is_its_tenants_own(registered: Cluster, test_pki: Pki) -> None:
    document, cms = SCENARIOS[0].files(test_pki)
    with registered.client("demo-broker") as broker:
        report = verify(broker, document, cms).json()
    with registered.client("demo-broker-b") as other:
        hidden = other.get(f"/api/v1/signatures/reports/{report['id']}")
    with registered.client("demo-officer") as officer:
        seen = officer.get(f"/api/v1/signatures/reports/{report['id']}")
    assert hidden.status_code == 404
    assert seen.json()["indication"] == "TOTAL_PASSED"


def test_requests_malformed_as_http_are_4xx_problems(registered: Cluster, test_pki: Pki) -> None:
    document, cms = SCENARIOS[0].files(test_pki)
    with registered.client("demo-broker") as client:
        missing = client.post(VERIFY, files={"document": ("d", document)}, data={"tax_code": "1"})
        too_large = verify(client, b"x" * 3_000_001, cms)
        bad_tax_code = verify(client, document, cms, tax_code="123")
        not_staff = verify(client, document, cms, validation_time="2026-01-01T00:00:00Z")
    with registered.client("demo-broker") as client:  # past the upload's own body cap
        body_too_large = verify(client, b"x" * 3_000_000, b"y" * 3_100_000)
        json_too_large = client.post("/api/v1/signatures/certificates", content=b"x" * 2_000_000)
    statuses = [r.status_code for r in (missing, too_large, bad_tax_code, not_staff)]
    assert statuses == [422, 413, 422, 403]
    assert (body_too_large.status_code, json_too_large.status_code) == (413, 413)
    assert too_large.json()["type"].endswith("/part-too-large")
    for response in (missing, too_large, bad_tax_code, not_staff):
        assert response.headers["content-type"] == "application/problem+json"


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(signature=st.binary(max_size=2048))
def test_hostile_signature_bytes_get_a_report_not_a_500(
    registered: Cluster, test_pki: Pki, signature: bytes
) -> None:
    with registered.client("demo-broker") as client:
        response = verify(client, b"document", signature)
    assert response.status_code == 200, response.text
    assert response.json()["indication"] in ("TOTAL_FAILED", "INDETERMINATE")


def test_registry_refuses_with_the_reason_and_lists(registered: Cluster, test_pki: Pki) -> None:
    with registered.client("demo-officer") as officer:
        revoked = officer.post(
            "/api/v1/signatures/certificates",
            json={"tax_code": TAX_CODE_A, "certificate_pem": test_pki.revoked.cert.read_text()},
        )
        listed = officer.get("/api/v1/signatures/certificates", params={"tax_code": TAX_CODE_A})
    pem = test_pki.enterprise_a.cert.read_text()
    with registered.client("demo-broker") as broker:
        broker_refused = broker.post(
            "/api/v1/signatures/certificates",
            json={"tax_code": TAX_CODE_A, "certificate_pem": pem},
        )
    assert revoked.status_code == 422
    assert revoked.json()["sub_indication"] == "REVOKED"
    assert {c["subject"].split(", ")[1] for c in listed.json()["items"]} >= {
        "Common Name: Company a",
        "Common Name: Company a-ec",
    }
    assert broker_refused.status_code == 403


def test_crl_upload_is_for_admins_and_checked(registered: Cluster, test_pki: Pki) -> None:
    crl = test_pki.ca_crl.read_bytes()
    with registered.client("demo-officer") as officer:
        forbidden = officer.post("/api/v1/signatures/crls", files={"crl": ("ca.crl", crl)})
    with registered.client("demo-admin") as admin:
        accepted = admin.post("/api/v1/signatures/crls", files={"crl": ("ca.crl", crl)})
        refused = admin.post("/api/v1/signatures/crls", files={"crl": ("x.crl", b"junk")})
    assert forbidden.status_code == 403
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["issuer"].startswith("Common Name: Test Licensed CA")
    assert refused.status_code == 422


def lane_of(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    accepted = client.post("/api/v1/declarations", json=body)
    assert accepted.status_code == 202, accepted.text

    def laned() -> dict[str, Any] | None:
        found: dict[str, Any] = client.get(accepted.headers["location"]).json()
        return found if found.get("lane") else None

    result: dict[str, Any] = wait_for(laned, 15.0)
    return result


def test_declarations_are_routed_by_their_verified_signature(
    registered: Cluster, test_pki: Pki
) -> None:
    body = sample("declaration-enterprise")
    tampered = signed(body, test_pki)
    tampered["items"][0]["quantity"] = 1
    with registered.client("demo-broker") as client:
        valid = lane_of(client, signed(body, test_pki))
        foreign = lane_of(client, signed(body, test_pki, test_pki.enterprise_b))
        changed = lane_of(client, tampered)
        check = client.get(f"/api/v1/signatures/checks/{valid['id']}").json()
        report = client.get(f"/api/v1/signatures/reports/{check['report_id']}").json()
    assert (valid["lane"], valid["signature_status"]) == ("green", "valid")
    timeline = {e["event"]: e["detail"] for e in valid["timeline"]}
    assert f"/api/v1/signatures/reports/{check['report_id']}" in timeline["signature_checked"]
    assert report["declaration_id"] == valid["id"]
    assert report["document_sha256"] is not None
    assert report["signer"]["tax_codes"] == [TAX_CODE_A]
    for declaration, sub in ((foreign, "NOT_REGISTERED"), (changed, "HASH_FAILURE")):
        assert (declaration["lane"], declaration["signature_status"]) == ("red", "invalid")
        assert "enterprise-signature-invalid" in [r["rule"] for r in declaration["lane_reasons"]]
        assert sub in next(
            e["detail"] for e in declaration["timeline"] if e["event"] == "signature_checked"
        )
    assert base64.b64decode(signed(body, test_pki)["signature"])[:1] == b"\x30"


def test_routing_configured_to_reject_closes_an_invalidly_signed_declaration(
    registered: Cluster, test_pki: Pki
) -> None:
    routing = registered.processes["routing-svc"]
    routing.stop()
    routing.env["ROUTING_INVALID_SIGNATURE_OUTCOME"] = "reject"
    registered.restart("routing-svc")
    try:
        tampered = signed(sample("declaration-enterprise"), test_pki)
        tampered["items"][0]["quantity"] = 1
        with registered.client("demo-broker") as client:
            changed = lane_of(client, tampered)

            def closed() -> dict[str, Any] | None:
                found: dict[str, Any] = client.get(f"/api/v1/declarations/{changed['id']}").json()
                return found if found["status"] == "REJECTED" else None

            rejected = wait_for(closed, 15.0)
            valid = lane_of(client, signed(sample("declaration-enterprise"), test_pki))
            decision = client.get(f"/api/v1/routing/decisions/{changed['id']}").json()
    finally:
        routing.stop()
        del routing.env["ROUTING_INVALID_SIGNATURE_OUTCOME"]
        registered.restart("routing-svc")
    assert rejected["lane"] == "red"  # the lane stays on record
    assert [e["event"] for e in rejected["timeline"]][-2:] == ["lane_assigned", "rejected"]
    assert decision["rejected"] is True
    assert (valid["status"], valid["lane"]) == ("LANE_GREEN", "green")  # only invalid ones
