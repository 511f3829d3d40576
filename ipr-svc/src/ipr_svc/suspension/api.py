from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from customs_shared.app import service_runtime
from customs_shared.auth import (
    CUSTOMS_STAFF,
    RIGHT_HOLDERS,
    RIGHT_HOLDERS_AND_CUSTOMS,
    Principal,
    Scope,
    allow,
)
from customs_shared.db import DbSession
from customs_shared.pagination import AfterRow
from customs_shared.problems import Forbidden, InvalidCursor, Unauthorized, problem_responses
from ipr_svc.settings import IprSettings
from ipr_svc.suspension import service
from ipr_svc.suspension.errors import HitNotFound, SuspensionClosed, SuspensionNotFound
from ipr_svc.suspension.schemas import SuspensionIn, SuspensionList, SuspensionOut

router = APIRouter(prefix="/api/v1/ipr", tags=["ipr"])

Officer = Annotated[Principal, allow(Scope.IPR_REVIEW, CUSTOMS_STAFF)]
Holder = Annotated[Principal, allow(Scope.IPR_WRITE, RIGHT_HOLDERS)]
Reader = Annotated[Principal, allow(Scope.IPR_READ, RIGHT_HOLDERS_AND_CUSTOMS)]
STEP_PROBLEMS = problem_responses(Unauthorized, Forbidden, SuspensionNotFound, SuspensionClosed)


def _settings(request: Request) -> IprSettings:
    settings: IprSettings = service_runtime(request).settings
    return settings


@router.post(
    "/suspensions",
    response_model=SuspensionOut,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(Unauthorized, Forbidden, HitNotFound),
    summary="Suspend clearance on a hit: 10 working days for the holder to answer.",
)
async def suspend(
    body: SuspensionIn, request: Request, principal: Officer, session: DbSession
) -> SuspensionOut:
    row = await service.suspend(
        session=session,
        principal=principal,
        declaration_id=body.declaration_id,
        record_id=str(body.record_id),
        item_line=body.item_line,
        reason=body.reason,
        closed=_settings(request).suspension_closed_days,
    )
    return SuspensionOut.model_validate(row)


@router.get(
    "/suspensions",
    response_model=SuspensionList,
    responses=problem_responses(Unauthorized, Forbidden, InvalidCursor),
    summary="The pull list: a holder's suspensions (customs staff: every one), newest first.",
)
async def list_suspensions(
    principal: Reader,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    after: AfterRow = None,
) -> SuspensionList:
    page = await service.listing(session=session, principal=principal, limit=limit, after=after)
    return SuspensionList(
        items=[SuspensionOut.model_validate(r) for r in page.items], next_after=page.next_after
    )


@router.post(
    "/suspensions/{suspension_id}/extend",
    response_model=SuspensionOut,
    responses=STEP_PROBLEMS,
    summary="Extend the deadline once, to 20 working days from the suspension.",
)
async def extend(
    suspension_id: uuid.UUID, request: Request, principal: Officer, session: DbSession
) -> SuspensionOut:
    row = await service.extend(
        session=session,
        principal=principal,
        suspension_id=suspension_id,
        closed=_settings(request).suspension_closed_days,
    )
    return SuspensionOut.model_validate(row)


@router.post(
    "/suspensions/{suspension_id}/confirm",
    response_model=SuspensionOut,
    responses=STEP_PROBLEMS,
    summary="The holder confirms the infringement: the goods stay held.",
)
async def confirm(suspension_id: uuid.UUID, principal: Holder, session: DbSession) -> SuspensionOut:
    row = await service.answer(
        session=session, principal=principal, suspension_id=suspension_id, confirm=True
    )
    return SuspensionOut.model_validate(row)


@router.post(
    "/suspensions/{suspension_id}/withdraw",
    response_model=SuspensionOut,
    responses=STEP_PROBLEMS,
    summary="The holder withdraws: the goods are released.",
)
async def withdraw(
    suspension_id: uuid.UUID, principal: Holder, session: DbSession
) -> SuspensionOut:
    row = await service.answer(
        session=session, principal=principal, suspension_id=suspension_id, confirm=False
    )
    return SuspensionOut.model_validate(row)
