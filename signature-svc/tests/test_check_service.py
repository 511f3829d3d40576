"""signature-svc's handler on a real PostgreSQL built by its migrations."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import Role
from customs_shared.db import utcnow
from customs_shared.events.schemas import (
    DeclarantKind,
    DeclarationSubmitted,
    IprAttachmentAdded,
)
from customs_shared.messaging.models import OutboxEvent
from signature_svc.certificates.service import register
from signature_svc.checks import service
from signature_svc.checks.models import SignatureCheck
from signature_svc.reports.models import VerificationReport
from signature_svc.verification.trust import TrustMaterial, load_certificates, load_crl
from signature_svc.verification.verifier import Verifier
from tests.support.factories import declaration_submitted, principal
from tests.support.pki import TAX_CODE_A, Pki
from tests.support.postgres import sent_statements

pytestmark = pytest.mark.integration


async def test_a_check_is_stored_and_published_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    verifier = Verifier(TrustMaterial.build([]))
    unsigned = declaration_submitted(signature_present=False)
    individual = declaration_submitted(declarant_kind=DeclarantKind.INDIVIDUAL)
    for data in (unsigned, individual, unsigned):  # the last is a re-send
        async with sessions() as session, session.begin():
            await service.check_declaration(session, data, verifier=verifier)

    async with sessions() as session:
        checks = {c.declaration_id: c.status for c in await session.scalars(select(SignatureCheck))}
        events = await session.scalar(select(func.count()).select_from(OutboxEvent))
    assert checks == {unsigned.declaration_id: "missing", individual.declaration_id: "not_required"}
    assert events == 2


async def test_an_amended_version_is_checked_again(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    verifier = Verifier(TrustMaterial.build([]))
    unsigned = declaration_submitted(signature_present=False)
    # A version with a signature but no CMS bytes in the event: "present", nothing to verify.
    signed_v2 = unsigned.model_copy(update={"version": 2, "signature_present": True})
    async with sessions() as session, session.begin():
        await service.check_declaration(session, unsigned, verifier=verifier)
    async with sessions() as session, session.begin():
        await service.recheck_amended(session, signed_v2, verifier=verifier)
    async with sessions() as session:
        check = await session.get(SignatureCheck, unsigned.declaration_id)
        payloads = (await session.scalars(select(OutboxEvent.payload))).all()
    assert check is not None
    assert check.status == "present"
    published = [json.loads(p)["data"] for p in payloads]
    assert [(d["version"], d["status"]) for d in published] == [(1, "missing"), (2, "present")]


async def test_an_ipr_attachment_is_checked_as_a_document_is(
    sessions: async_sessionmaker[AsyncSession], test_pki: Pki
) -> None:
    """One verify-and-report path for declaration documents and IPR attachments: a
    signature by the enterprise's registered certificate over the file is valid, the same
    over other bytes invalid (HASH_FAILURE); an unsigned file is missing for an
    enterprise, not required of an individual."""
    trust = TrustMaterial.build(
        load_certificates(test_pki.anchors.read_bytes()),
        load_certificates(test_pki.intermediates.read_bytes()),
        [load_crl(p.read_bytes()) for p in test_pki.crls],
    )
    verifier = Verifier(trust)
    officer = principal(Role.OFFICER, "customs", "signatures:write")
    async with sessions() as session, session.begin():
        await register(
            session=session,
            verifier=verifier,
            principal=officer,
            tax_code=TAX_CODE_A,
            certificate_pem=test_pki.enterprise_a.cert.read_text(),
        )
    content = b"%PDF-1.7 certificate of registration"
    signature = test_pki.sign_bytes(content, test_pki.enterprise_a)

    def added(body: bytes, cms: bytes | None, kind: DeclarantKind) -> IprAttachmentAdded:
        return IprAttachmentAdded(
            application_id=uuid.uuid4(),
            attachment_id=uuid.uuid4(),
            tenant=TAX_CODE_A,
            applicant_kind=kind,
            applicant_tax_code=TAX_CODE_A if kind is DeclarantKind.ENTERPRISE else None,
            attachment_type="registration-certificate",
            filename="c.pdf",
            content_type="application/pdf",
            size=len(body),
            sha256=hashlib.sha256(body).hexdigest(),
            signature=None if cms is None else base64.b64encode(cms).decode(),
            added_at=utcnow(),
        )

    cases = {
        "valid": added(content, signature, DeclarantKind.ENTERPRISE),
        "other bytes": added(b"%PDF-1.7 something else", signature, DeclarantKind.ENTERPRISE),
        "unsigned enterprise": added(content, None, DeclarantKind.ENTERPRISE),
        "unsigned individual": added(content, None, DeclarantKind.INDIVIDUAL),
    }
    for data in cases.values():
        async with sessions() as session, session.begin():
            await service.check_ipr_attachment(session, data, verifier=verifier)
    async with sessions() as session:
        payloads = (await session.scalars(select(OutboxEvent.payload))).all()
        reports = {r.id: r for r in await session.scalars(select(VerificationReport))}
    events = [json.loads(p) for p in payloads]
    assert {e["type"] for e in events} == {"customs.ipr.attachment-signature-checked.v1"}
    verdicts = {e["data"]["attachment_id"]: e["data"] for e in events}
    got = {name: verdicts[str(data.attachment_id)] for name, data in cases.items()}
    assert {name: v["status"] for name, v in got.items()} == {
        "valid": "valid",
        "other bytes": "invalid",
        "unsigned enterprise": "missing",
        "unsigned individual": "not_required",
    }
    assert got["other bytes"]["sub_indication"] == "HASH_FAILURE"
    report = reports[uuid.UUID(got["valid"]["report_id"])]
    assert (report.tenant, report.declaration_id) == (TAX_CODE_A, None)
    assert got["unsigned individual"]["report_id"] is None


async def test_a_batch_of_declarations_is_looked_up_once_and_its_reports_written_together(
    sessions: async_sessionmaker[AsyncSession], test_pki: Pki
) -> None:
    """As the consumer handles a fetch: one statement finds which declarations are checked
    already (a re-sent one is not verified again), and the reports of the others are
    written at commit in one statement, not flushed one by one."""
    verifier = Verifier(
        TrustMaterial.build(
            load_certificates(test_pki.anchors.read_bytes()),
            load_certificates(test_pki.intermediates.read_bytes()),
            [load_crl(p.read_bytes()) for p in test_pki.crls],
        )
    )

    def signed(content: bytes) -> DeclarationSubmitted:
        cms = test_pki.sign_bytes(content, test_pki.enterprise_a)
        return declaration_submitted(
            tenant=TAX_CODE_A,
            declarant_tax_code=TAX_CODE_A,
            signature_cms=base64.b64encode(cms).decode(),
            signed_sha256=hashlib.sha256(content).hexdigest(),
        )

    resent = signed(b"checked before")
    async with sessions() as session, session.begin():
        await service.check_declaration(session, resent, verifier=verifier)
    batch = [signed(f"declaration {n}".encode()) for n in range(3)]
    session = sessions()
    with sent_statements(session.sync_session) as sent:
        async with session, session.begin():
            await service.find_checks(session, [*batch, resent])
            for data in (*batch, resent):
                await service.check_declaration(session, data, verifier=verifier)

    def count(prefix: str) -> int:
        return sum(prefix in s for s in sent)

    assert count("SELECT signature_checks.declaration_id") == 1
    # The batch's checks, reports and events: one statement at commit, none per record.
    writes = [s for s in sent if "INSERT INTO signature_checks" in s]
    assert len(writes) == 1
    assert "INSERT INTO verification_reports" in writes[0]
    assert "INSERT INTO outbox_events" in writes[0]
    assert count("INSERT INTO verification_reports") == 1
    async with sessions() as session:
        reports = {
            r.id: r.declaration_id for r in await session.scalars(select(VerificationReport))
        }
        checks = {
            c.declaration_id: c.report_id for c in await session.scalars(select(SignatureCheck))
        }
    # One report each: the re-sent declaration was not verified again.
    assert sorted(map(str, reports.values())) == sorted(
        str(d.declaration_id) for d in (*batch, resent)
    )
    assert all(reports[checks[d.declaration_id]] == d.declaration_id for d in batch)


async def test_a_check_another_replica_committed_meanwhile_fails_this_commit_and_is_found_again(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """During a rebalance two replicas may handle one submission. The second to commit
    fails (its check is a plain insert), and the consumer handles the record again on
    its own: it finds the first check and publishes nothing more."""
    verifier = Verifier(TrustMaterial.build([]))
    data = declaration_submitted(signature_present=False)
    session = sessions()
    await session.begin()
    await service.find_checks(session, [data])
    await service.check_declaration(session, data, verifier=verifier)
    async with sessions() as other, other.begin():
        await service.check_declaration(other, data, verifier=verifier)
    with pytest.raises(IntegrityError):
        await session.commit()
    await session.close()
    async with sessions() as session, session.begin():
        await service.check_declaration(session, data, verifier=verifier)

    async with sessions() as session:
        checks = await session.scalar(select(func.count()).select_from(SignatureCheck))
        events = await session.scalar(select(func.count()).select_from(OutboxEvent))
    assert (checks, events) == (1, 1)
