"""A declaration's signature check: an individual's may be unsigned; an enterprise's
must be a detached CMS signature by a certificate registered for its tax code, verified
from the SHA-256 of the signed bytes the event carries."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.auth import Principal
from customs_shared.events import catalog
from customs_shared.events.schemas import (
    DeclarantKind,
    DeclarationSubmitted,
    DocumentAttached,
    DocumentSignatureChecked,
    IprAttachmentAdded,
    IprAttachmentSignatureChecked,
    SignatureChecked,
    SignatureStatus,
)
from customs_shared.messaging.outbox import add_event
from signature_svc.certificates.service import registered_fingerprints
from signature_svc.checks.errors import SignatureCheckNotFound
from signature_svc.checks.models import SignatureCheck
from signature_svc.checks.repository import SignatureCheckRepository
from signature_svc.reports import service as reports
from signature_svc.verification.report import Indication, Report
from signature_svc.verification.verifier import Verifier

SOURCE = "/customs/signature-svc"
REPORTS_PATH = "/api/v1/signatures/reports"

STATUS_OF = {
    Indication.TOTAL_PASSED: SignatureStatus.VALID,
    Indication.TOTAL_FAILED: SignatureStatus.INVALID,
    Indication.INDETERMINATE: SignatureStatus.INDETERMINATE,
}


def assess(submitted: DeclarationSubmitted) -> tuple[SignatureStatus, str] | None:
    """The outcome when there is nothing to verify; None when there is."""
    if submitted.declarant_kind is DeclarantKind.INDIVIDUAL:
        return SignatureStatus.NOT_REQUIRED, "Individuals' declarations may be unsigned."
    if not submitted.signature_present:
        return (
            SignatureStatus.MISSING,
            f"Enterprise {submitted.declarant_tax_code} must sign with its registered certificate.",
        )
    if submitted.signature_cms is None:  # a producer that sends no CMS bytes
        return SignatureStatus.PRESENT, "A detached signature is attached; it was not sent here."
    return None


@dataclass(frozen=True, slots=True)
class _Verdict:
    """A signature check's outcome as the check row and its event carry it."""

    status: SignatureStatus
    detail: str
    indication: str | None = None
    sub_indication: str | None = None
    report_id: uuid.UUID | None = None

    def fields(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "detail": self.detail[:1000],
            "indication": self.indication,
            "sub_indication": self.sub_indication,
            "report_id": self.report_id,
        }


async def _verify_and_report(
    session: AsyncSession,
    verifier: Verifier,
    *,
    cms_base64: str,
    sha256_hex: str | None,
    binding_tax_code: str | None,
    tenant: str,
    declarant_tax_code: str | None,
    declaration_id: uuid.UUID | None,
) -> _Verdict:
    """Verifies from the digest the event carries (the signed bytes never travel) and
    stores the report. With ``binding_tax_code``, the signer must be a certificate
    registered for that enterprise."""
    try:
        cms = base64.b64decode(cms_base64, validate=True)
    except (binascii.Error, ValueError):
        cms = b""  # reported as a format failure
    try:
        digest = bytes.fromhex(sha256_hex) if sha256_hex else None
    except ValueError:
        digest = None
    report = await verifier.verify_signature(
        cms,
        sha256=digest,
        tax_code=binding_tax_code,
        registered=(
            await registered_fingerprints(session, binding_tax_code) if binding_tax_code else None
        ),
    )
    report_id = reports.store_at_commit(
        session,
        reports.report_values(
            report,
            tenant=tenant,
            tax_code=declarant_tax_code,
            declaration_id=declaration_id,
            document_sha256=digest,
        ),
    )
    return _Verdict(
        STATUS_OF[report.indication],
        _detail(report, report_id),
        report.indication,
        report.sub_indication,
        report_id,
    )


async def find_checks(session: AsyncSession, events: Sequence[DeclarationSubmitted]) -> None:
    """Before a batch's handlers: which of its declarations are checked already, in one
    statement instead of one per declaration."""
    await SignatureCheckRepository(session).load_presence([e.declaration_id for e in events])


async def check_declaration(
    session: AsyncSession, submitted: DeclarationSubmitted, *, verifier: Verifier
) -> None:
    repository = SignatureCheckRepository(session)
    if await repository.exists(submitted.declaration_id):
        return  # verifying costs: a re-sent submission keeps its first check
    outcome = assess(submitted)
    verdict = (
        _Verdict(*outcome)
        if outcome is not None
        else await _verify_and_report(
            session,
            verifier,
            cms_base64=submitted.signature_cms or "",
            sha256_hex=submitted.signed_sha256,
            binding_tax_code=submitted.declarant_tax_code or "",
            tenant=submitted.tenant,
            declarant_tax_code=submitted.declarant_tax_code,
            declaration_id=submitted.declaration_id,
        )
    )
    # Written with the commit's one statement. Should a concurrent check of the same
    # submission commit first, this commit fails and the batch is handled again, record
    # by record, finding that check.
    repository.insert_at_commit(
        {
            "declaration_id": submitted.declaration_id,
            "tenant": submitted.tenant,
            "declarant_kind": submitted.declarant_kind,
            "declarant_tax_code": submitted.declarant_tax_code,
            **verdict.fields(),
        }
    )
    add_event(
        session,
        catalog.SIGNATURE_CHECKED,
        source=SOURCE,
        key=str(submitted.declaration_id),
        data=SignatureChecked(
            declaration_id=submitted.declaration_id,
            version=submitted.version,
            tenant=submitted.tenant,
            **verdict.fields(),
        ),
    )


async def _attached_file_verdict(
    session: AsyncSession,
    verifier: Verifier,
    *,
    enterprise: bool,
    signature: str | None,
    sha256_hex: str,
    tax_code: str | None,
    tenant: str,
    declaration_id: uuid.UUID | None,
) -> _Verdict:
    """An attached file's signature (a declaration's document, an IPR application's
    attachment), verified from the digest its event carries: an enterprise's must be by a
    certificate registered for its tax code; an individual's may be unsigned, and a
    signature it carries is checked without that binding."""
    if signature is None:
        return (
            _Verdict(SignatureStatus.MISSING, "An enterprise's file must carry its signature.")
            if enterprise
            else _Verdict(SignatureStatus.NOT_REQUIRED, "Individuals' files may be unsigned.")
        )
    return await _verify_and_report(
        session,
        verifier,
        cms_base64=signature,
        sha256_hex=sha256_hex,
        binding_tax_code=tax_code if enterprise else None,
        tenant=tenant,
        declarant_tax_code=tax_code,
        declaration_id=declaration_id,
    )


async def check_document(
    session: AsyncSession, attached: DocumentAttached, *, verifier: Verifier
) -> None:
    verdict = await _attached_file_verdict(
        session,
        verifier,
        enterprise=attached.declarant_kind is DeclarantKind.ENTERPRISE,
        signature=attached.signature,
        sha256_hex=attached.sha256,
        tax_code=attached.declarant_tax_code,
        tenant=attached.tenant,
        declaration_id=attached.declaration_id,
    )
    add_event(
        session,
        catalog.DOCUMENT_SIGNATURE_CHECKED,
        source=SOURCE,
        key=str(attached.declaration_id),
        data=DocumentSignatureChecked(
            declaration_id=attached.declaration_id,
            document_id=attached.document_id,
            tenant=attached.tenant,
            **verdict.fields(),
        ),
    )


async def check_ipr_attachment(
    session: AsyncSession, added: IprAttachmentAdded, *, verifier: Verifier
) -> None:
    """An IPR application's attachment, checked as a declaration's document is."""
    verdict = await _attached_file_verdict(
        session,
        verifier,
        enterprise=added.applicant_kind is DeclarantKind.ENTERPRISE,
        signature=added.signature,
        sha256_hex=added.sha256,
        tax_code=added.applicant_tax_code,
        tenant=added.tenant,
        declaration_id=None,
    )
    add_event(
        session,
        catalog.IPR_ATTACHMENT_SIGNATURE_CHECKED,
        source=SOURCE,
        key=str(added.application_id),
        data=IprAttachmentSignatureChecked(
            application_id=added.application_id,
            attachment_id=added.attachment_id,
            tenant=added.tenant,
            **verdict.fields(),
        ),
    )


def _detail(report: Report, report_id: uuid.UUID) -> str:
    """One line for the declaration's timeline, ending with where the full report is."""
    verdict = report.indication + (f"/{report.sub_indication}" if report.sub_indication else "")
    link = f" Report: {REPORTS_PATH}/{report_id}"
    return f"{verdict}: {report.message}"[: 1000 - len(link)] + link


async def recheck_amended(
    session: AsyncSession, amended: DeclarationSubmitted, *, verifier: Verifier
) -> None:
    """An amendment is a new version of the declaration: its check replaces the last."""
    await SignatureCheckRepository(session).delete(amended.declaration_id)
    await check_declaration(session, amended, verifier=verifier)


async def get(
    *, session: AsyncSession, principal: Principal, declaration_id: uuid.UUID
) -> SignatureCheck:
    return await SignatureCheckRepository(session).get_visible_or_404(
        declaration_id,
        principal,
        SignatureCheckNotFound(f"No signature check for declaration {declaration_id}."),
    )
