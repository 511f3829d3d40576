"""Attachments of IPR applications, the applicant kind and representative, the audit trail
and the renewal queue, through the routers on a real PostgreSQL: 3 MB per file (413
beyond), an enterprise's files signed (422 otherwise), an individual's optionally, the
bytes kept in the request's transaction, and each holder kept to its own applications."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import Principal, Role
from customs_shared.db import utcnow
from customs_shared.events import catalog
from customs_shared.events.schemas import IprAttachmentSignatureChecked, SignatureStatus
from customs_shared.messaging.models import OutboxEvent
from customs_shared.notifications.models import Notification
from ipr_svc.applications import review
from ipr_svc.applications.api import router as applications_router
from ipr_svc.attachments import service as attachments
from ipr_svc.attachments.api import router as attachments_router
from ipr_svc.attachments.models import IprAttachment, IprAttachmentBlob
from ipr_svc.attachments.schemas import IprAttachmentType
from ipr_svc.settings import IprSettings
from tests.support.factories import principal
from tests.support.inprocess import Caller, Tokens, client, service_app

pytestmark = pytest.mark.integration

Sessions = async_sessionmaker[AsyncSession]
MAX = 3_000_000  # 3 MB
SIGNATURE = b"\x30\x82\x01\x00" + b"\x01" * 16  # a DER SEQUENCE: well-formed enough to keep
PEM_SIGNATURE = (
    b"-----BEGIN PKCS7-----\n" + base64.encodebytes(SIGNATURE) + b"-----END PKCS7-----\n"
)
ENTERPRISE = principal(Role.RIGHT_HOLDER, "0100109106", "ipr:read", "ipr:write")
OTHER_ENTERPRISE = principal(Role.RIGHT_HOLDER, "0104567890", "ipr:read", "ipr:write")
PERSON = principal(Role.RIGHT_HOLDER, "person-0079", "ipr:read", "ipr:write")
OFFICER = principal(Role.OFFICER, "customs", "ipr:read", "ipr:review", subject="officer-1")
BROKER = principal(Role.BROKER, "0312345673", "ipr:read", "ipr:write")


async def outbox(sessions: Sessions, event_type: str) -> list[tuple[str, dict[str, Any]]]:
    """(key, data) of the events of ``event_type`` waiting in the outbox."""
    async with sessions() as session:
        rows = (await session.execute(select(OutboxEvent.key, OutboxEvent.payload))).all()
    events = [(key, json.loads(payload)) for key, payload in rows]
    return [(key, e["data"]) for key, e in events if e["type"] == event_type]


@pytest.fixture
async def api(sessions: Sessions) -> AsyncIterator[Caller]:
    tokens = Tokens()
    app = service_app([applications_router, attachments_router])
    async with client(app, sessions, tokens, IprSettings()) as http:
        yield Caller(http, tokens, "/api/v1/ipr")


def application(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "right_type": "trademark",
        "registration_number": f"4-{uuid.uuid4().hex[:8]}",
        "registration_office": "IP Viet Nam",
        "owner": "Trung Nguyen Group",
        "right_valid_until": (utcnow().date() + timedelta(days=3650)).isoformat(),
        "goods": [
            {
                "hs_headings": ["0901"],
                "description": "Roasted coffee",
                "brands": ["Trung Nguyên"],
                "distinguishing_features": "Hologram seal under the lid",
            }
        ],
        "authorised_importers": ["0100109106"],
        "contact": {"name": "IP desk", "email": "ip@example.vn", "phone": "+84 28 3822 0000"},
        "notification_url": "https://holder.example.vn/ipr/hooks",
    }
    return {**body, **changes}


async def file(api: Caller, who: Principal, **changes: Any) -> str:
    response = await api.call("POST", "/applications", who, json=application(**changes))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def attach(
    api: Caller,
    who: Principal,
    application_id: str,
    content: bytes,
    *,
    signature: bytes | None = SIGNATURE,
    kind: str = "registration-certificate",
) -> Any:
    files: dict[str, Any] = {"file": ("certificate.pdf", content, "application/pdf")}
    if signature is not None:
        files["signature"] = ("certificate.p7s", signature, "application/pkcs7-signature")
    return await api.call(
        "POST",
        f"/applications/{application_id}/attachments",
        who,
        files=files,
        data={"attachment_type": kind},
    )


async def count(sessions: Sessions, model: type[Any]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_an_enterprise_attachment_is_stored_announced_listed_and_downloaded(
    api: Caller, sessions: Sessions
) -> None:
    application_id = await file(api, ENTERPRISE)
    content = (b"%PDF-1.7 certificate " + b"x" * MAX)[:MAX]  # exactly 3 MB is allowed
    added = await attach(api, ENTERPRISE, application_id, content, signature=PEM_SIGNATURE)
    assert added.status_code == 201, added.text
    digest = hashlib.sha256(content).hexdigest()
    body = added.json()
    assert (body["sha256"], body["size"], body["signed"]) == (digest, MAX, True)
    assert body["signature_status"] is None
    assert added.headers["etag"] == f'"{digest}"'
    url = added.headers["location"].removeprefix("/api/v1/ipr")

    listed = await api.call("GET", f"/applications/{application_id}/attachments", ENTERPRISE)
    by_holder = await api.call("GET", url, ENTERPRISE)
    by_officer = await api.call("GET", url, OFFICER)
    assert [a["id"] for a in listed.json()["items"]] == [body["id"]]
    for download in (by_holder, by_officer):
        assert download.status_code == 200
        assert download.content == content
        assert download.headers["etag"] == f'"{digest}"'

    events = await outbox(sessions, catalog.IPR_ATTACHMENT_ADDED.name)
    assert len(events) == 1
    key, data = events[0]
    assert data["attachment_id"] == body["id"]
    assert data["sha256"] == digest
    assert data["applicant_kind"] == "enterprise"
    assert data["applicant_tax_code"] == ENTERPRISE.tenant
    assert base64.b64decode(data["signature"]) == SIGNATURE  # PEM kept as DER
    assert key == application_id


async def test_an_enterprise_must_sign_an_individual_need_not(api: Caller) -> None:
    enterprise_app = await file(api, ENTERPRISE)
    unsigned = await attach(api, ENTERPRISE, enterprise_app, b"photo", signature=None)
    garbled = await attach(api, ENTERPRISE, enterprise_app, b"photo", signature=b"not cms")
    person_app = await file(api, PERSON, applicant_kind="individual")
    by_person = await attach(
        api, PERSON, person_app, b"\xff\xd8\xff photo", signature=None, kind="product-photos"
    )
    assert unsigned.status_code == 422
    assert unsigned.headers["content-type"] == "application/problem+json"
    assert unsigned.json()["type"].endswith("/ipr-attachment-signature-required")
    assert unsigned.json()["rule"] == "enterprise-attachment-signed"
    assert garbled.status_code == 422
    assert garbled.json()["type"].endswith("/invalid-ipr-attachment-signature")
    assert by_person.status_code == 201, by_person.text
    assert by_person.json()["signed"] is False


async def test_an_enterprise_applicant_is_a_tax_code(api: Caller) -> None:
    refused = await api.call("POST", "/applications", PERSON, json=application())
    assert refused.status_code == 422
    assert refused.json()["type"].endswith("/ipr-applicant-not-enterprise")


async def test_a_file_over_3_mb_is_413_and_nothing_is_kept(api: Caller, sessions: Sessions) -> None:
    application_id = await file(api, ENTERPRISE)
    too_large = await attach(api, ENTERPRISE, application_id, b"x" * (MAX + 1))
    assert too_large.status_code == 413
    assert too_large.headers["content-type"] == "application/problem+json"
    assert too_large.json()["type"].endswith("/ipr-attachment-too-large")
    assert too_large.json()["max_bytes"] == MAX
    assert "split" in too_large.json()["detail"]
    assert await count(sessions, IprAttachment) == 0
    assert await count(sessions, IprAttachmentBlob) == 0


# Starlette leaves the spooled file of a part it could not finish to the garbage
# collector, which warns; the request itself is answered and nothing is stored.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_an_upload_broken_midway_stores_nothing(api: Caller, sessions: Sessions) -> None:
    application_id = await file(api, ENTERPRISE)
    boundary = "cut-here"
    # The body stops inside the file part: no closing boundary ever comes.
    truncated = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="attachment_type"\r\n\r\nother\r\n'
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n%PDF-1.7 half a fi"
    ).encode()
    broken = await api.client.post(
        f"/api/v1/ipr/applications/{application_id}/attachments",
        content=truncated,
        headers={
            **api.tokens.headers(ENTERPRISE),
            "content-type": f"multipart/form-data; boundary={boundary}",
        },
    )
    assert 400 <= broken.status_code < 500

    # A failure after the bytes were written (here: the transaction is abandoned) leaves
    # neither the row, nor the bytes, nor the event.
    async def attach_then_fail() -> None:
        async with sessions() as session, session.begin():
            await attachments.attach(
                session=session,
                principal=ENTERPRISE,
                store=IprSettings().attachment_store(),
                application_id=uuid.UUID(application_id),
                upload=attachments.Upload(
                    IprAttachmentType.OTHER, "a.pdf", "application/pdf", b"%PDF", SIGNATURE
                ),
            )
            raise RuntimeError("the connection dropped")

    with pytest.raises(RuntimeError):
        await attach_then_fail()
    assert await count(sessions, IprAttachment) == 0
    assert await count(sessions, IprAttachmentBlob) == 0
    assert await outbox(sessions, catalog.IPR_ATTACHMENT_ADDED.name) == []


async def test_every_new_endpoint_keeps_a_holder_to_its_own(api: Caller) -> None:
    application_id = await file(api, ENTERPRISE)
    added = await attach(api, ENTERPRISE, application_id, b"%PDF mine")
    url = added.headers["location"].removeprefix("/api/v1/ipr")
    base = f"/applications/{application_id}"
    foreign = [
        await attach(api, OTHER_ENTERPRISE, application_id, b"%PDF theirs"),
        await api.call("GET", f"{base}/attachments", OTHER_ENTERPRISE),
        await api.call("GET", url, OTHER_ENTERPRISE),
        await api.call("GET", f"{base}/decisions", OTHER_ENTERPRISE),
    ]
    assert [r.status_code for r in foreign] == [404, 404, 404, 404]
    # Officers read but do not upload for the holder; other roles are not let in.
    by_officer = await attach(api, OFFICER, application_id, b"%PDF officer")
    by_broker = await api.call("GET", f"{base}/attachments", BROKER)
    queue_by_holder = await api.call("GET", "/renewals", ENTERPRISE)
    assert (by_officer.status_code, by_broker.status_code) == (403, 403)
    assert queue_by_holder.status_code == 403


async def test_signature_verdict_is_kept_once_and_told_to_the_holder(
    api: Caller, sessions: Sessions
) -> None:
    application_id = await file(api, ENTERPRISE)
    added = (await attach(api, ENTERPRISE, application_id, b"%PDF")).json()
    report_id = uuid.uuid4()

    def verdict(status: SignatureStatus) -> IprAttachmentSignatureChecked:
        return IprAttachmentSignatureChecked(
            application_id=uuid.UUID(application_id),
            attachment_id=uuid.UUID(added["id"]),
            tenant=ENTERPRISE.tenant,
            status=status,
            detail="TOTAL_PASSED",
            report_id=report_id,
        )

    for status in (SignatureStatus.VALID, SignatureStatus.INVALID):  # the second is a re-send
        async with sessions() as session, session.begin():
            await attachments.record_signature_check(session, verdict(status))
    listed = await api.call("GET", f"/applications/{application_id}/attachments", OFFICER)
    (item,) = listed.json()["items"]
    assert (item["signature_status"], item["signature_report_id"]) == ("valid", str(report_id))
    assert (await api.call("GET", f"/applications/{application_id}/gaps", OFFICER)).json() == {
        "complete": True,
        "gaps": [],
    }
    # A file whose signature is invalid is a gap the applicant must mend.
    forged = (await attach(api, ENTERPRISE, application_id, b"%PDF 2")).json()
    async with sessions() as session, session.begin():
        await attachments.record_signature_check(
            session,
            verdict(SignatureStatus.INVALID).model_copy(
                update={"attachment_id": uuid.UUID(forged["id"])}
            ),
        )
    gaps = (await api.call("GET", f"/applications/{application_id}/gaps", ENTERPRISE)).json()
    assert gaps["gaps"] == [
        "attachments: certificate.pdf (registration-certificate): the signature is invalid; "
        "attach it again, signed with the registered certificate"
    ]
    async with sessions() as session:
        told = (
            await session.scalars(
                select(Notification).where(Notification.type == "ipr.attachment_signature_checked")
            )
        ).all()
    assert [n.tenant for n in told] == [ENTERPRISE.tenant, ENTERPRISE.tenant]


async def test_a_representative_is_shown_and_needs_a_power_of_attorney(api: Caller) -> None:
    representative = {"name": "Pham & Associates IP Law", "tax_code": "0104567890"}
    application_id = await file(api, ENTERPRISE, representative=representative)
    shown = await api.call("GET", f"/applications/{application_id}", OFFICER)
    before = await api.call("GET", f"/applications/{application_id}/gaps", OFFICER)
    await attach(api, ENTERPRISE, application_id, b"%PDF poa", kind="power-of-attorney")
    after = await api.call("GET", f"/applications/{application_id}/gaps", OFFICER)
    nameless = await api.call(
        "POST", "/applications", ENTERPRISE, json=application(representative={"name": "X"})
    )
    assert shown.json()["representative"] == {**representative, "id_number": None}
    assert shown.json()["applicant_kind"] == "enterprise"
    assert before.json()["gaps"] == [
        "attachments: the representative's power of attorney (type power-of-attorney)"
    ]
    assert after.json() == {"complete": True, "gaps": []}
    assert nameless.status_code == 422


async def test_the_audit_trail_lists_every_decision_oldest_first(api: Caller) -> None:
    application_id = await file(api, ENTERPRISE)
    today = utcnow().date()
    approval = {
        "valid_from": today.isoformat(),
        "valid_until": (today + timedelta(days=365)).isoformat(),
        "reason": "complete and well founded",
    }
    approved = await api.call(
        "POST", f"/applications/{application_id}/approve", OFFICER, json=approval
    )
    assert approved.status_code == 200, approved.text
    renewal = {"valid_until": (today + timedelta(days=730)).isoformat()}
    await api.call("POST", f"/applications/{application_id}/renewal", ENTERPRISE, json=renewal)
    own = await api.call("GET", f"/applications/{application_id}/decisions", ENTERPRISE)
    by_officer = await api.call("GET", f"/applications/{application_id}/decisions", OFFICER)
    assert own.status_code == by_officer.status_code == 200
    trail = own.json()["items"]
    assert [(d["action"], d["actor"]) for d in trail] == [
        ("approve", OFFICER.subject),
        ("renewal-filed", ENTERPRISE.subject),
    ]
    assert trail[0]["reason"] == "complete and well founded"
    assert trail[1]["valid_until"] == renewal["valid_until"]
    assert by_officer.json() == own.json()


async def test_the_renewal_queue_holds_undecided_renewals_oldest_first(
    api: Caller, sessions: Sessions
) -> None:
    today = utcnow().date()
    ids = [await file(api, ENTERPRISE) for _ in range(4)]
    for application_id in ids:
        async with sessions() as session, session.begin():
            await review.approve(
                session=session,
                principal=OFFICER,
                application_id=uuid.UUID(application_id),
                valid_from=today,
                valid_until=today + timedelta(days=365),
                reason="ok",
            )
    # Renewals of 0, 1 and 2 (1 twice: only its newest counts); 2 is then extended.
    for application_id in (ids[0], ids[1], ids[2], ids[1]):
        response = await api.call(
            "POST",
            f"/applications/{application_id}/renewal",
            ENTERPRISE,
            json={"valid_until": (today + timedelta(days=700)).isoformat()},
        )
        assert response.status_code == 200, response.text
    extended = await api.call(
        "POST",
        f"/applications/{ids[2]}/extend",
        OFFICER,
        json={"valid_until": (today + timedelta(days=700)).isoformat(), "reason": "renewed"},
    )
    assert extended.status_code == 200, extended.text

    first = await api.call("GET", "/renewals", OFFICER, params={"limit": 1})
    second = await api.call(
        "GET", "/renewals", OFFICER, params={"limit": 1, "after": first.json()["next_after"]}
    )
    whole = await api.call("GET", "/renewals", OFFICER)
    bad_cursor = await api.call("GET", "/renewals", OFFICER, params={"after": str(uuid.uuid4())})
    assert [r["application_id"] for r in whole.json()["items"]] == [ids[0], ids[1]]
    assert whole.json()["next_after"] is None
    assert [r["application_id"] for r in first.json()["items"]] == [ids[0]]
    assert [r["application_id"] for r in second.json()["items"]] == [ids[1]]
    assert second.json()["next_after"] is None
    entry = whole.json()["items"][0]
    assert entry["requested_valid_until"] == (today + timedelta(days=700)).isoformat()
    assert entry["valid_until"] == (today + timedelta(days=365)).isoformat()
    assert entry["applicant_tenant"] == ENTERPRISE.tenant
    assert bad_cursor.status_code == 400


async def test_the_directory_store_keeps_the_bytes_as_files(
    sessions: Sessions, tmp_path: Path
) -> None:
    tokens = Tokens()
    settings = IprSettings(attachment_storage="directory", attachment_directory=tmp_path)
    app = service_app([applications_router, attachments_router])
    async with client(app, sessions, tokens, settings) as http:
        api = Caller(http, tokens, "/api/v1/ipr")
        application_id = await file(api, ENTERPRISE)
        added = await attach(api, ENTERPRISE, application_id, b"%PDF on disk")
        downloaded = await api.call(
            "GET", added.headers["location"].removeprefix("/api/v1/ipr"), OFFICER
        )
    assert added.status_code == 201, added.text
    assert downloaded.content == b"%PDF on disk"
    key = uuid.UUID(added.json()["id"]).hex
    assert (tmp_path / key[:2] / key).read_bytes() == b"%PDF on disk"
    assert await count(sessions, IprAttachmentBlob) == 0
