"""Documents through the gateway: the 3 MB cap (413 that says to split), the enterprise
signature rule, download with the digest as ETag, and tenant isolation."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest

from tests.e2e.test_declaration_flow import submit
from tests.support.cluster import Cluster, wait_for
from tests.support.pki import Pki, register_signers
from tests.support.samples import sample

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"
MAX = 3_000_000  # 3 MB
SIGNATURE = b"\x30\x82\x01\x00" + b"\x01" * 16


def test_documents_are_attached_downloaded_and_kept_to_their_tenant(cluster: Cluster) -> None:
    content = b"%PDF-1.7 " + b"x" * MAX  # trimmed to exactly 3 MB below
    content = content[:MAX]
    with cluster.client("demo-broker") as client:
        declaration = submit(client, sample("declaration-enterprise")).json()
        url = f"{declaration['status_url']}/documents"
        attached = client.post(
            url,
            files={
                "file": ("invoice.pdf", content, "application/pdf"),
                "signature": ("invoice.pdf.p7s", SIGNATURE, "application/pkcs7-signature"),
            },
            data={"document_type": "invoice"},
        )
        too_large = client.post(
            url,
            files={
                "file": ("big.pdf", content + b"!", "application/pdf"),
                "signature": ("big.p7s", SIGNATURE, "application/pkcs7-signature"),
            },
            data={"document_type": "invoice"},
        )
        unsigned = client.post(
            url,
            files={"file": ("list.pdf", b"packing list", "application/pdf")},
            data={"document_type": "packing_list"},
        )
        assert attached.status_code == 201, attached.text
        document_url = attached.headers["location"]
        downloaded = client.get(document_url)
        listed = client.get(url).json()
    with cluster.client("demo-officer") as officer:
        by_officer = officer.get(document_url)
    with cluster.client("demo-broker-b") as other:
        foreign = other.get(document_url)
        foreign_upload = other.post(
            url,
            files={"file": ("x.pdf", b"x", "application/pdf"), "signature": ("x.p7s", SIGNATURE)},
            data={"document_type": "other"},
        )
    digest = hashlib.sha256(content).hexdigest()
    assert attached.json()["sha256"] == digest
    assert attached.json()["signed"] is True
    assert downloaded.status_code == 200
    assert downloaded.content == content
    assert downloaded.headers["etag"] == f'"{digest}"'
    assert [d["id"] for d in listed] == [attached.json()["id"]]
    assert by_officer.status_code == 200
    assert by_officer.content == content
    assert too_large.status_code == 413
    assert too_large.headers["content-type"] == PROBLEM
    assert too_large.json()["type"].endswith("/document-too-large")
    assert "split" in too_large.json()["detail"]
    assert unsigned.status_code == 422
    assert unsigned.json()["type"].endswith("/document-signature-required")
    assert unsigned.json()["rule"] == "enterprise-document-signed"
    assert foreign.status_code == 404
    assert foreign_upload.status_code == 404


def test_an_individual_may_attach_an_unsigned_document(cluster: Cluster) -> None:
    with cluster.client("demo-declarant") as client:
        declaration = submit(client, sample("declaration-individual")).json()
        attached = client.post(
            f"{declaration['status_url']}/documents",
            files={"file": ("receipt.jpg", b"\xff\xd8\xff receipt", "image/jpeg")},
            data={"document_type": "other"},
        )
    assert attached.status_code == 201, attached.text
    assert attached.json()["signed"] is False


def test_signature_svc_verifies_each_documents_signature_from_its_digest(
    cluster: Cluster, test_pki: Pki
) -> None:
    with cluster.client("demo-admin") as admin:
        register_signers(admin, test_pki)
    invoice = b"%PDF-1.7 commercial invoice " + uuid.uuid4().bytes
    packing_list = b"%PDF-1.7 packing list " + uuid.uuid4().bytes
    valid = test_pki.sign_bytes(invoice, test_pki.enterprise_a)
    # A genuine signature, but over other bytes: the digest does not match.
    misplaced = test_pki.sign_bytes(invoice, test_pki.enterprise_a)
    with cluster.client("demo-broker") as client:
        declaration = submit(client, sample("declaration-enterprise")).json()
        url = f"{declaration['status_url']}/documents"
        good = client.post(
            url,
            files={"file": ("invoice.pdf", invoice), "signature": ("invoice.p7s", valid)},
            data={"document_type": "invoice"},
        )
        bad = client.post(
            url,
            files={"file": ("list.pdf", packing_list), "signature": ("list.p7s", misplaced)},
            data={"document_type": "packing_list"},
        )
        assert good.status_code == bad.status_code == 201, (good.text, bad.text)

        def verdicts() -> dict[str, Any] | None:
            documents = {d["filename"]: d for d in client.get(url).json()}
            done = all(d["signature_status"] for d in documents.values())
            return documents if done else None

        documents = wait_for(verdicts, 20)
        report = client.get(
            f"/api/v1/signatures/reports/{documents['list.pdf']['signature_report_id']}"
        )
        timeline = client.get(declaration["status_url"]).json()["timeline"]
    assert documents["invoice.pdf"]["signature_status"] == "valid"
    assert documents["list.pdf"]["signature_status"] == "invalid"
    assert report.status_code == 200
    assert report.json()["sub_indication"] == "HASH_FAILURE"
    checked = [e for e in timeline if e["event"] == "document_signature_checked"]
    assert len(checked) == 2


def test_a_retried_upload_and_amendment_with_their_keys_make_nothing_twice(
    cluster: Cluster,
) -> None:
    """Through the gateway, as a broker's software retries after a timeout: the same
    Idempotency-Key gets the first answer again (`Idempotent-Replayed: true`), one document,
    one new version."""
    key = str(uuid.uuid4())
    files = {"file": ("list.pdf", b"packing list, retried", "application/pdf")}
    with cluster.client("demo-broker") as client:
        declaration = submit(client, sample("declaration-individual")).json()
        url = f"{declaration['status_url']}/documents"
        sent = [
            client.post(
                url,
                files=files,
                data={"document_type": "packing_list"},
                headers={"Idempotency-Key": key},
            )
            for _ in range(2)
        ]
        listed = client.get(url).json()
        amend_key = str(uuid.uuid4())
        amended = [
            client.put(
                declaration["status_url"],
                json=sample("declaration-individual"),
                headers={"If-Match": '"v1"', "Idempotency-Key": amend_key},
            )
            for _ in range(2)
        ]
        now = client.get(declaration["status_url"])
    assert [r.status_code for r in sent] == [201, 201]
    assert sent[1].json() == sent[0].json()
    assert sent[1].headers["location"] == sent[0].headers["location"]
    assert sent[1].headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in sent[0].headers
    assert [d["id"] for d in listed] == [sent[0].json()["id"]]
    assert [r.status_code for r in amended] == [202, 202], amended[1].text
    assert amended[1].json() == amended[0].json()
    assert amended[0].json()["version"] == 2
    assert amended[1].headers["etag"] == '"v2"'
    assert amended[1].headers["idempotent-replayed"] == "true"
    assert now.json()["version"] == 2
