from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from customs_shared.auth import CUSTOMS_STAFF, Principal, Role, Scope, allow
from customs_shared.db import DbSession
from customs_shared.pagination import AfterRow
from customs_shared.problems import Forbidden, InvalidCursor, Unauthorized, problem_responses
from signature_svc.certificates import service
from signature_svc.certificates.errors import (
    CertificateAlreadyRegistered,
    CertificateNotFound,
    CertificateRefused,
    NotYourTaxCode,
)
from signature_svc.certificates.schemas import CertificateIn, CertificateList, CertificateOut
from signature_svc.reports.api import Trust, valid_tax_code
from signature_svc.reports.errors import InvalidTaxCode

router = APIRouter(prefix="/api/v1/signatures/certificates", tags=["certificates"])

# The enterprise itself (a declarant of its own tenant), officers and admins.
KEEPERS = CUSTOMS_STAFF | {Role.DECLARANT}
Reader = Annotated[Principal, allow(Scope.SIGNATURES_READ, KEEPERS)]
Writer = Annotated[Principal, allow(Scope.SIGNATURES_WRITE, KEEPERS)]


@router.post(
    "",
    status_code=201,
    response_model=CertificateOut,
    responses=problem_responses(
        Unauthorized,
        Forbidden,
        NotYourTaxCode,
        InvalidTaxCode,
        CertificateRefused,
        CertificateAlreadyRegistered,
    ),
    summary="Register an enterprise's signer certificate (checked before it is bound).",
)
async def register(
    body: CertificateIn, principal: Writer, session: DbSession, trust: Trust
) -> CertificateOut:
    row = await service.register(
        session=session,
        verifier=trust.verifier,
        principal=principal,
        tax_code=valid_tax_code(body.tax_code),
        certificate_pem=body.certificate_pem,
    )
    return CertificateOut.model_validate(row)


@router.get(
    "",
    response_model=CertificateList,
    responses=problem_responses(Unauthorized, Forbidden, InvalidCursor),
    summary="Registered certificates visible to the caller, optionally of one tax code.",
)
async def list_certificates(
    principal: Reader,
    session: DbSession,
    tax_code: Annotated[str | None, Query(max_length=14)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
    after: AfterRow = None,
) -> CertificateList:
    page = await service.list_(
        session=session, principal=principal, tax_code=tax_code, limit=limit, after=after
    )
    return CertificateList(
        items=[CertificateOut.model_validate(r) for r in page.items], next_after=page.next_after
    )


@router.get(
    "/{certificate_id}",
    response_model=CertificateOut,
    responses=problem_responses(Unauthorized, Forbidden, CertificateNotFound),
    summary="One registered certificate.",
)
async def get_certificate(
    certificate_id: uuid.UUID, principal: Reader, session: DbSession
) -> CertificateOut:
    row = await service.get(session=session, principal=principal, certificate_id=certificate_id)
    return CertificateOut.model_validate(row)


@router.post(
    "/{certificate_id}/deactivate",
    response_model=CertificateOut,
    responses=problem_responses(Unauthorized, Forbidden, CertificateNotFound),
    summary="Stop accepting signatures by this certificate for its tax code.",
)
async def deactivate_certificate(
    certificate_id: uuid.UUID, principal: Writer, session: DbSession
) -> CertificateOut:
    row = await service.deactivate(
        session=session, principal=principal, certificate_id=certificate_id
    )
    return CertificateOut.model_validate(row)
