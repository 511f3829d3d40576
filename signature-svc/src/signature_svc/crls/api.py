from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile

from customs_shared.auth import Principal, Role, Scope, allow
from customs_shared.db import DbSession
from customs_shared.problems import Forbidden, Unauthorized, problem_responses
from signature_svc.crls import service
from signature_svc.crls.errors import CrlRefused
from signature_svc.crls.schemas import CrlOut
from signature_svc.reports.api import Trust, read_part
from signature_svc.reports.errors import PartTooLarge

router = APIRouter(prefix="/api/v1/signatures/crls", tags=["crls"])

Admin = Annotated[Principal, allow(Scope.ADMIN, frozenset({Role.ADMIN}))]


@router.post(
    "",
    status_code=201,
    response_model=CrlOut,
    responses=problem_responses(Unauthorized, Forbidden, CrlRefused, PartTooLarge),
    summary="Upload a CRL (DER or PEM); used once its signature checks out against its issuer.",
)
async def upload_crl(
    principal: Admin,
    session: DbSession,
    trust: Trust,
    crl: Annotated[UploadFile, File(description="The CRL, DER or PEM.")],
) -> CrlOut:
    data = await read_part(crl, trust.settings.max_part_bytes)
    row = await service.upload(session=session, trust=trust, principal=principal, data=data)
    return CrlOut.model_validate(row)
