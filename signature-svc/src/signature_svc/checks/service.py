"""First signature check: whether the declaration needs a signature and carries one.

Chain, CRL and registered-certificate verification come with the signature issue;
until then a present signature is reported as ``present``, not as valid."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.auth import Principal
from customs_shared.events import catalog
from customs_shared.events.schemas import (
    DeclarantKind,
    DeclarationSubmitted,
    SignatureChecked,
    SignatureStatus,
)
from customs_shared.messaging.outbox import add_event
from signature_svc.checks.errors import SignatureCheckNotFound
from signature_svc.checks.models import SignatureCheck
from signature_svc.checks.repository import SignatureCheckRepository

SOURCE = "/customs/signature-svc"


def assess(submitted: DeclarationSubmitted) -> tuple[SignatureStatus, str]:
    if submitted.declarant_kind is DeclarantKind.INDIVIDUAL:
        return SignatureStatus.NOT_REQUIRED, "Individuals' declarations may be unsigned."
    if not submitted.signature_present:
        return (
            SignatureStatus.MISSING,
            f"Enterprise {submitted.declarant_tax_code} must sign with its registered certificate.",
        )
    return SignatureStatus.PRESENT, "A detached signature is attached; verification is pending."


async def check_declaration(session: AsyncSession, submitted: DeclarationSubmitted) -> None:
    status, detail = assess(submitted)
    first = await SignatureCheckRepository(session).insert_if_absent(
        declaration_id=submitted.declaration_id,
        tenant=submitted.tenant,
        declarant_kind=submitted.declarant_kind,
        declarant_tax_code=submitted.declarant_tax_code,
        status=status,
        detail=detail,
    )
    if not first:
        return  # a re-sent submission keeps its first check
    add_event(
        session,
        catalog.SIGNATURE_CHECKED,
        source=SOURCE,
        key=str(submitted.declaration_id),
        data=SignatureChecked(
            declaration_id=submitted.declaration_id,
            version=submitted.version,
            tenant=submitted.tenant,
            status=status,
            detail=detail,
        ),
    )


async def recheck_amended(session: AsyncSession, amended: DeclarationSubmitted) -> None:
    """An amendment is a new version of the declaration: its check replaces the last."""
    await SignatureCheckRepository(session).delete(amended.declaration_id)
    await check_declaration(session, amended)


async def get(
    *, session: AsyncSession, principal: Principal, declaration_id: uuid.UUID
) -> SignatureCheck:
    return await SignatureCheckRepository(session).get_visible_or_404(
        declaration_id,
        principal,
        SignatureCheckNotFound(f"No signature check for declaration {declaration_id}."),
    )
