from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from customs_shared.auth import RIGHT_HOLDERS, RIGHT_HOLDERS_AND_CUSTOMS, Principal, Scope, allow
from customs_shared.db import DbSession
from customs_shared.problems import Forbidden, Unauthorized, problem_responses
from ipr_svc.applications import service
from ipr_svc.applications.errors import ApplicationNotFound, RightExpired
from ipr_svc.applications.schemas import ApplicationIn, ApplicationList, ApplicationOut

router = APIRouter(prefix="/api/v1/ipr", tags=["ipr"])

Applicant = Annotated[Principal, allow(Scope.IPR_WRITE, RIGHT_HOLDERS)]
Reader = Annotated[Principal, allow(Scope.IPR_READ, RIGHT_HOLDERS_AND_CUSTOMS)]


@router.post(
    "/applications",
    response_model=ApplicationOut,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(Unauthorized, Forbidden, RightExpired),
    summary="File an application for customs action on a right.",
)
async def file_application(
    application: ApplicationIn, principal: Applicant, session: DbSession
) -> ApplicationOut:
    row = await service.file(session=session, principal=principal, application=application)
    return ApplicationOut.model_validate(row)


@router.get(
    "/applications",
    response_model=ApplicationList,
    responses=problem_responses(Unauthorized, Forbidden),
    summary="The caller's applications, newest first (customs staff: every one).",
)
async def list_applications(
    principal: Reader,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> ApplicationList:
    rows = await service.listing(session=session, principal=principal, limit=limit)
    return ApplicationList(items=[ApplicationOut.model_validate(r) for r in rows])


@router.get(
    "/applications/{application_id}",
    response_model=ApplicationOut,
    responses=problem_responses(Unauthorized, Forbidden, ApplicationNotFound),
    summary="One application: the applicant's own, or any for customs staff.",
)
async def get_application(
    application_id: uuid.UUID, principal: Reader, session: DbSession
) -> ApplicationOut:
    row = await service.get(session=session, principal=principal, application_id=application_id)
    return ApplicationOut.model_validate(row)
