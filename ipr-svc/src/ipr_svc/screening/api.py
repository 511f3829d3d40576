from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from customs_shared.auth import (
    RIGHT_HOLDERS_AND_CUSTOMS,
    TRADERS_AND_CUSTOMS,
    Principal,
    Scope,
    allow,
)
from customs_shared.db import DbSession
from customs_shared.pagination import AfterRow
from customs_shared.problems import Forbidden, InvalidCursor, Unauthorized, problem_responses
from ipr_svc.screening import service
from ipr_svc.screening.errors import ScreeningNotFound
from ipr_svc.screening.schemas import HitList, HitOut, ScreeningOut

router = APIRouter(prefix="/api/v1/ipr", tags=["ipr"])

Reader = Annotated[Principal, allow(Scope.IPR_READ, TRADERS_AND_CUSTOMS)]
HitReader = Annotated[Principal, allow(Scope.IPR_READ, RIGHT_HOLDERS_AND_CUSTOMS)]


@router.get(
    "/screenings/{declaration_id}",
    response_model=ScreeningOut,
    responses=problem_responses(Unauthorized, Forbidden, ScreeningNotFound),
    summary="The IPR screening of one declaration.",
)
async def get_screening(
    declaration_id: uuid.UUID, principal: Reader, session: DbSession
) -> ScreeningOut:
    screening = await service.get(
        session=session, principal=principal, declaration_id=declaration_id
    )
    return ScreeningOut.model_validate(screening)


@router.get(
    "/hits",
    response_model=HitList,
    responses=problem_responses(Unauthorized, Forbidden, InvalidCursor),
    summary="Hits on the caller's own rights, newest first (customs staff: every one).",
)
async def list_hits(
    principal: HitReader,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    after: AfterRow = None,
) -> HitList:
    page = await service.hits(session=session, principal=principal, limit=limit, after=after)
    return HitList(items=[HitOut.model_validate(r) for r in page.items], next_after=page.next_after)
