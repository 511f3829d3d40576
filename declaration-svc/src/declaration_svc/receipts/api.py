from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from customs_shared.app import service_runtime
from customs_shared.auth import TRADERS_AND_CUSTOMS, Principal, Scope, allow
from customs_shared.db import DbSession
from customs_shared.problems import Forbidden, Unauthorized, problem_responses
from declaration_svc.declarations.errors import DeclarationNotFound
from declaration_svc.receipts import service
from declaration_svc.receipts.schemas import ReceiptOut
from declaration_svc.settings import DeclarationSettings

router = APIRouter(prefix="/api/v1/declarations", tags=["receipts"])

Reader = Annotated[Principal, allow(Scope.DECLARATIONS_READ, TRADERS_AND_CUSTOMS)]


@router.get(
    "/receipts/jwks.json",
    summary="The public keys that verify receipts (JWKS); served to anyone.",
)
async def receipt_keys(request: Request, response: Response) -> dict[str, Any]:
    # Public, as every JWKS is: a receipt is proof shown to others (an auditor, a court),
    # who hold no token of ours, and the keys are no secret.
    settings: DeclarationSettings = service_runtime(request).settings
    response.headers["Cache-Control"] = "public, max-age=300"
    return settings.receipt_keys().jwks()


@router.get(
    "/{declaration_id}/receipt",
    response_model=ReceiptOut,
    responses=problem_responses(Unauthorized, Forbidden, DeclarationNotFound),
    summary="The receipt of a declaration's newest version (or of `version`), again.",
)
async def receipt(
    declaration_id: uuid.UUID,
    principal: Reader,
    session: DbSession,
    version: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> ReceiptOut:
    found = await service.get(
        session=session, principal=principal, declaration_id=declaration_id, version=version
    )
    return ReceiptOut.model_validate(found)
