from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from customs_shared.auth import TRADERS_AND_CUSTOMS, Principal, Scope, allow
from customs_shared.db import DbSession
from customs_shared.events.schemas import IprHit, IprOutcome
from customs_shared.problems import Forbidden, Unauthorized, problem_responses
from ipr_svc.screening import service

router = APIRouter(prefix="/api/v1/ipr", tags=["ipr"])

Reader = Annotated[Principal, allow(Scope.IPR_READ, TRADERS_AND_CUSTOMS)]


class ScreeningOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    declaration_id: uuid.UUID
    outcome: IprOutcome
    records_checked: int
    hits: list[IprHit]
    screened_at: datetime


@router.get(
    "/screenings/{declaration_id}",
    response_model=ScreeningOut,
    responses=problem_responses(Unauthorized, Forbidden, service.ScreeningNotFound),
    summary="The IPR screening of one declaration.",
)
async def get_screening(
    declaration_id: uuid.UUID, principal: Reader, session: DbSession
) -> ScreeningOut:
    screening = await service.get(
        session=session, principal=principal, declaration_id=declaration_id
    )
    return ScreeningOut.model_validate(screening)
