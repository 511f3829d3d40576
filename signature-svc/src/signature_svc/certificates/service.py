"""The certificate registry: which signer certificates speak for which tax code."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.auth import CUSTOMS_STAFF, Principal
from customs_shared.db import once_per_transaction
from customs_shared.repository import Page
from signature_svc.certificates.errors import (
    CertificateAlreadyRegistered,
    CertificateNotFound,
    CertificateRefused,
    NotYourTaxCode,
)
from signature_svc.certificates.models import RegisteredCertificate
from signature_svc.certificates.repository import CertificateRepository
from signature_svc.verification.report import CheckStatus, Indication
from signature_svc.verification.subject import tax_codes
from signature_svc.verification.trust import TrustMaterialError, fingerprint, load_certificate
from signature_svc.verification.verifier import Verifier


def head_office(tax_code: str) -> str:
    """The enterprise a tax code belongs to: a branch (``0100686209-199``) is its head office's."""
    return tax_code.split("-", 1)[0]


async def registered_fingerprints(session: AsyncSession, tax_code: str) -> set[str]:
    """Read once per transaction and tax code: a consumer's batch often holds many
    declarations of one enterprise."""
    loaded = await once_per_transaction(
        session,
        f"registered_fingerprints:{tax_code}",
        lambda: CertificateRepository(session).active_fingerprints(tax_code),
    )
    return set(loaded)


async def register(
    *,
    session: AsyncSession,
    verifier: Verifier,
    principal: Principal,
    tax_code: str,
    certificate_pem: str,
) -> RegisteredCertificate:
    if not principal.has_any(*CUSTOMS_STAFF) and head_office(tax_code) != principal.tenant:
        raise NotYourTaxCode(f"You may register certificates for {principal.tenant} only.")
    try:
        cert = load_certificate(certificate_pem.encode())
    except TrustMaterialError as e:
        raise CertificateRefused(f"Not one X.509 certificate: {e}") from e
    report = await verifier.verify_certificate(cert)
    if report.indication is not Indication.TOTAL_PASSED:
        failed = [c for c in report.checks if c.status is not CheckStatus.PASSED]
        raise CertificateRefused(
            f"{report.sub_indication}: {report.message}",
            sub_indication=report.sub_indication,
            checks=[{"name": c.name, "status": c.status, "message": c.message} for c in failed],
        )
    named = tax_codes(cert)
    if tax_code not in named:
        raise CertificateRefused(
            f"The subject names {', '.join(named) or 'no tax code'} (UID=MST:…), not {tax_code}.",
            sub_indication="NOT_REGISTERED",
        )
    repository = CertificateRepository(session)
    fp = fingerprint(cert)
    existing = await repository.find(tax_code, fp)
    if existing is not None and existing.active:
        raise CertificateAlreadyRegistered(f"Certificate {fp} is registered for {tax_code}.")
    row = existing or RegisteredCertificate(id=uuid.uuid4(), tax_code=tax_code, fingerprint=fp)
    row.tenant = head_office(tax_code)
    row.subject = cert.subject.human_friendly[:1000]
    row.issuer = cert.issuer.human_friendly[:1000]
    row.serial = format(cert.serial_number, "x")[:64]
    row.not_before = cert.not_valid_before
    row.not_after = cert.not_valid_after
    row.certificate_der = cert.dump()
    row.active = True
    row.registered_by = principal.subject[:200]
    row.registered_at = datetime.now(UTC)
    row.deactivated_at = None
    if existing is None:
        repository.add(row)
    await session.flush()
    return row


async def get(
    *, session: AsyncSession, principal: Principal, certificate_id: uuid.UUID
) -> RegisteredCertificate:
    return await CertificateRepository(session).get_visible_or_404(
        certificate_id,
        principal,
        CertificateNotFound(f"No registered certificate {certificate_id}."),
    )


async def list_(
    *,
    session: AsyncSession,
    principal: Principal,
    tax_code: str | None,
    limit: int,
    after: uuid.UUID | None = None,
) -> Page[RegisteredCertificate]:
    return await CertificateRepository(session).list_visible(
        principal, tax_code, after=after, limit=limit
    )


async def deactivate(
    *, session: AsyncSession, principal: Principal, certificate_id: uuid.UUID
) -> RegisteredCertificate:
    row = await get(session=session, principal=principal, certificate_id=certificate_id)
    if row.active:
        row.active = False
        row.deactivated_at = datetime.now(UTC)
        await session.flush()
    return row
