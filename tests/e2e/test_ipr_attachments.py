"""Attachments of IPR applications through the gateway on real Kafka and PostgreSQL: an
enterprise holder's signed file is verified by signature-svc from the digest in
customs.ipr.attachment-added.v1 and the verdict comes back to ipr-svc (valid; a genuine
signature over other bytes: invalid); the 3 MB cap, the signature rule and each holder
kept to its own applications, through the gateway."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from customs_shared.db import utcnow
from tests.support.cluster import Cluster, wait_for
from tests.support.pki import TAX_CODE_A, Pki, register_signers

pytestmark = pytest.mark.e2e

MAX = 3_000_000  # 3 MB


def enterprise_holder(cluster: Cluster, pki: Pki) -> httpx.Client:
    """A right holder whose tenant is enterprise A's tax code (the test PKI's signer),
    registered through the admin API."""
    with cluster.client("demo-admin") as admin:
        register_signers(admin, pki)
        made = admin.post(
            "/api/v1/clients",
            json={
                "client_id": f"holder-{uuid.uuid4().hex[:8]}",
                "roles": ["right_holder"],
                "tenant": TAX_CODE_A,
                "scopes": ["ipr:read", "ipr:write", "signatures:read"],
            },
        )
        assert made.status_code == 201, made.text
    client = made.json()

    def token() -> str | None:
        # The gateway's client registry follows the table within a few seconds.
        response = httpx.post(
            f"{cluster.gateway}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client["client_id"], client["client_secret"]),
            timeout=10,
        )
        return str(response.json()["access_token"]) if response.status_code == 200 else None

    return httpx.Client(
        base_url=cluster.gateway,
        headers={"Authorization": f"Bearer {wait_for(token, 20)}"},
        timeout=20,
    )


def application() -> dict[str, Any]:
    return {
        "right_type": "trademark",
        "registration_number": f"4-{uuid.uuid4().hex[:8]}",
        "registration_office": "IP Viet Nam",
        "owner": "Cong ty A",
        "right_valid_until": (utcnow().date() + timedelta(days=3650)).isoformat(),
        "goods": [{"hs_headings": ["6403"], "description": "Leather shoes", "brands": ["Zoltrix"]}],
        "contact": {"name": "IP desk", "email": "ip@example.vn"},
        "applicant_kind": "enterprise",
        "representative": {"name": "Pham & Associates", "id_number": "079123456789"},
    }


def test_signed_attachments_are_verified_by_signature_svc(cluster: Cluster, test_pki: Pki) -> None:
    certificate = b"%PDF-1.7 certificate of registration " + uuid.uuid4().bytes
    power = b"%PDF-1.7 power of attorney " + uuid.uuid4().bytes
    valid = test_pki.sign_bytes(certificate, test_pki.enterprise_a)
    # A genuine signature by the registered certificate, but over other bytes.
    misplaced = test_pki.sign_bytes(certificate, test_pki.enterprise_a)
    with enterprise_holder(cluster, test_pki) as holder:
        filed = holder.post("/api/v1/ipr/applications", json=application())
        assert filed.status_code == 201, filed.text
        url = f"/api/v1/ipr/applications/{filed.json()['id']}/attachments"
        good = holder.post(
            url,
            files={"file": ("certificate.pdf", certificate), "signature": ("c.p7s", valid)},
            data={"attachment_type": "registration-certificate"},
        )
        bad = holder.post(
            url,
            files={"file": ("poa.pdf", power), "signature": ("p.p7s", misplaced)},
            data={"attachment_type": "power-of-attorney"},
        )
        assert good.status_code == bad.status_code == 201, (good.text, bad.text)

        def verdicts() -> dict[str, Any] | None:
            items = {a["filename"]: a for a in holder.get(url).json()["items"]}
            return items if all(a["signature_status"] for a in items.values()) else None

        attachments = wait_for(verdicts, 30)
        report = holder.get(
            f"/api/v1/signatures/reports/{attachments['poa.pdf']['signature_report_id']}"
        )
        gaps = holder.get(f"/api/v1/ipr/applications/{filed.json()['id']}/gaps").json()
        downloaded = holder.get(good.headers["location"])
    assert attachments["certificate.pdf"]["signature_status"] == "valid"
    assert attachments["poa.pdf"]["signature_status"] == "invalid"
    assert report.status_code == 200, report.text
    assert report.json()["sub_indication"] == "HASH_FAILURE"
    # The power of attorney is there (no gap for it), but its signature must be mended.
    assert not any("representative's power of attorney" in gap for gap in gaps["gaps"])
    assert (
        "attachments: poa.pdf (power-of-attorney): the signature is invalid; attach it "
        "again, signed with the registered certificate"
    ) in gaps["gaps"]
    assert downloaded.content == certificate
    assert downloaded.headers["etag"] == f'"{hashlib.sha256(certificate).hexdigest()}"'


def test_the_cap_the_signature_rule_and_isolation_through_the_gateway(
    cluster: Cluster, test_pki: Pki
) -> None:
    signature = b"\x30\x82\x01\x00" + b"\x01" * 16
    with cluster.client("demo-right-holder") as holder:
        filed = holder.post("/api/v1/ipr/applications", json=application())
        assert filed.status_code == 201, filed.text
        url = f"/api/v1/ipr/applications/{filed.json()['id']}/attachments"
        at_cap = holder.post(
            url,
            files={"file": ("a.pdf", b"x" * MAX), "signature": ("a.p7s", signature)},
            data={"attachment_type": "other"},
        )
        over = holder.post(
            url,
            files={"file": ("b.pdf", b"x" * (MAX + 1)), "signature": ("b.p7s", signature)},
            data={"attachment_type": "other"},
        )
        unsigned = holder.post(
            url, files={"file": ("c.pdf", b"%PDF")}, data={"attachment_type": "other"}
        )
        decisions = holder.get(f"/api/v1/ipr/applications/{filed.json()['id']}/decisions")
    with cluster.client("demo-officer") as officer:
        by_officer = officer.get(at_cap.headers["location"])
        queue = officer.get("/api/v1/ipr/renewals")
    with enterprise_holder(cluster, test_pki) as other:
        foreign = [
            other.get(url),
            other.get(at_cap.headers["location"]),
            other.get(f"/api/v1/ipr/applications/{filed.json()['id']}/decisions"),
            other.post(
                url,
                files={"file": ("x.pdf", b"x"), "signature": ("x.p7s", signature)},
                data={"attachment_type": "other"},
            ),
        ]
    assert at_cap.status_code == 201, at_cap.text
    assert over.status_code == 413
    assert over.headers["content-type"] == "application/problem+json"
    assert over.json()["type"].endswith("/ipr-attachment-too-large")
    assert unsigned.status_code == 422
    assert unsigned.json()["rule"] == "enterprise-attachment-signed"
    assert decisions.status_code == 200
    assert decisions.json()["items"] == []
    assert by_officer.status_code == 200
    assert len(by_officer.content) == MAX
    assert queue.status_code == 200
    assert [r.status_code for r in foreign] == [404, 404, 404, 404]
