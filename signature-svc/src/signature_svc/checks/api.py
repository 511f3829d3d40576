from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter

from customs_shared.auth import TRADERS_AND_CUSTOMS, Principal, Scope, allow
from customs_shared.db import DbSession
from customs_shared.problems import Forbidden, Unauthorized, problem_responses
from signature_svc.checks import service
from signature_svc.checks.errors import SignatureCheckNotFound
from signature_svc.checks.schemas import SignatureCheckOut

router = APIRouter(prefix="/api/v1/signatures", tags=["signatures"])

Reader = Annotated[Principal, allow(Scope.SIGNATURES_READ, TRADERS_AND_CUSTOMS)]


@router.get(
    "/checks/{declaration_id}",
    response_model=SignatureCheckOut,
    responses=problem_responses(Unauthorized, Forbidden, SignatureCheckNotFound),
    summary="The signature check of one declaration.",
)
async def get_check(
    declaration_id: uuid.UUID, principal: Reader, session: DbSession
) -> SignatureCheckOut:
    check = await service.get(session=session, principal=principal, declaration_id=declaration_id)
    return SignatureCheckOut.model_validate(check)
