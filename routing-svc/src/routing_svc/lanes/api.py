from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter

from customs_shared.auth import TRADERS_AND_CUSTOMS, Principal, Scope, allow
from customs_shared.db import DbSession
from customs_shared.problems import Forbidden, Unauthorized, problem_responses
from routing_svc.lanes import service
from routing_svc.lanes.errors import DecisionNotFound
from routing_svc.lanes.schemas import LaneDecisionOut

router = APIRouter(prefix="/api/v1/routing", tags=["routing"])

Reader = Annotated[Principal, allow(Scope.ROUTING_READ, TRADERS_AND_CUSTOMS)]


@router.get(
    "/decisions/{declaration_id}",
    response_model=LaneDecisionOut,
    responses=problem_responses(Unauthorized, Forbidden, DecisionNotFound),
    summary="The lane of one declaration, with the rules that fired and the inputs seen.",
)
async def get_decision(
    declaration_id: uuid.UUID, principal: Reader, session: DbSession
) -> LaneDecisionOut:
    decision = await service.get_decision(
        session=session, principal=principal, declaration_id=declaration_id
    )
    return LaneDecisionOut.model_validate(decision)
