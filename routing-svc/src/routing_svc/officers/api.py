from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from customs_shared.auth import ADMINS, OFFICERS, Principal, Scope, allow
from customs_shared.db import DbSession
from customs_shared.events.schemas import Lane
from customs_shared.problems import (
    Forbidden,
    InvalidCursor,
    Unauthorized,
    UnprocessableContent,
    problem_responses,
)
from routing_svc.lanes.dependencies import Cursors
from routing_svc.lanes.errors import DecisionNotFound
from routing_svc.officers import service
from routing_svc.officers.errors import (
    InspectionAlreadyRecorded,
    InspectionNotApplicable,
    OverrideRefused,
)
from routing_svc.officers.schemas import (
    QUEUE_REASONS,
    RoutingInspectionIn,
    RoutingInspectionOut,
    RoutingOfficerIn,
    RoutingOfficerList,
    RoutingOfficerOut,
    RoutingOverrideIn,
    RoutingOverrideOut,
    RoutingQueueEntry,
    RoutingQueuePage,
)
from routing_svc.rules.definitions import OfficeCode

router = APIRouter(prefix="/api/v1/routing", tags=["routing officers"])

Admin = Annotated[Principal, allow(Scope.ADMIN, ADMINS)]
QueueReader = Annotated[Principal, allow(Scope.ROUTING_READ, OFFICERS)]
Officer = Annotated[Principal, allow(Scope.ROUTING_WRITE, OFFICERS)]
Subject = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")]


@router.put(
    "/officers/{subject}",
    response_model=RoutingOfficerOut,
    responses=problem_responses(Unauthorized, Forbidden, UnprocessableContent),
    summary="Registers an officer (the token subject) for an office, on or off duty.",
)
async def put_officer(
    subject: Subject, body: RoutingOfficerIn, principal: Admin, session: DbSession
) -> RoutingOfficerOut:
    row = await service.register(
        session=session,
        principal=principal,
        subject=subject,
        office=body.office,
        on_duty=body.on_duty,
    )
    await session.flush()
    return RoutingOfficerOut.model_validate(row)


@router.get(
    "/officers",
    response_model=RoutingOfficerList,
    responses=problem_responses(Unauthorized, Forbidden, UnprocessableContent, InvalidCursor),
    summary="Registered officers, by office.",
)
async def list_officers(
    principal: Admin,
    session: DbSession,
    office: Annotated[OfficeCode | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
    after: Annotated[
        str | None, Query(max_length=200, description="next_after of the previous page.")
    ] = None,
) -> RoutingOfficerList:
    page = await service.officers(
        session=session, principal=principal, office=office, limit=limit, after=after
    )
    return RoutingOfficerList(
        items=[RoutingOfficerOut.model_validate(r) for r in page.items],
        next_after=page.next_after,
    )


@router.get(
    "/queue",
    response_model=RoutingQueuePage,
    responses=problem_responses(Unauthorized, Forbidden, InvalidCursor),
    summary="The caller's open yellow and red declarations, oldest first.",
)
async def get_queue(
    principal: QueueReader,
    session: DbSession,
    cursors: Cursors,
    after: Annotated[str | None, Query(max_length=400)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> RoutingQueuePage:
    entries, next_cursor = await service.queue(
        session=session, principal=principal, cursors=cursors, after=after, limit=limit
    )
    return RoutingQueuePage(
        items=[
            RoutingQueueEntry(
                declaration_id=e.assignment.declaration_id,
                version=e.assignment.version,
                tenant=e.assignment.tenant,
                office=e.assignment.office,
                lane=Lane(e.decision.lane),
                score=e.decision.score,
                assigned_at=e.assignment.assigned_at,
                reasons=e.top_reasons(QUEUE_REASONS),
            )
            for e in entries
        ],
        next_cursor=next_cursor,
    )


@router.post(
    "/decisions/{declaration_id}/override",
    response_model=RoutingOverrideOut,
    responses=problem_responses(
        Unauthorized, Forbidden, DecisionNotFound, OverrideRefused, UnprocessableContent
    ),
    summary="Changes a declaration's lane, with the officer's reason (audited).",
)
async def override_lane(
    declaration_id: uuid.UUID, body: RoutingOverrideIn, principal: Officer, session: DbSession
) -> RoutingOverrideOut:
    decision, previous = await service.override(
        session=session,
        principal=principal,
        declaration_id=declaration_id,
        lane=body.lane,
        reason=body.reason,
    )
    return RoutingOverrideOut(
        declaration_id=declaration_id,
        version=decision.version,
        revision=decision.revision,
        from_lane=previous,
        to_lane=body.lane,
    )


@router.post(
    "/decisions/{declaration_id}/inspection",
    response_model=RoutingInspectionOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "The same outcome was already recorded; it is returned."},
        **problem_responses(
            Unauthorized,
            Forbidden,
            DecisionNotFound,
            InspectionNotApplicable,
            InspectionAlreadyRecorded,
            UnprocessableContent,
        ),
    },
    summary="Records what the check of a yellow or red declaration found; closes its assignment.",
)
async def record_inspection(
    declaration_id: uuid.UUID,
    body: RoutingInspectionIn,
    principal: Officer,
    session: DbSession,
    response: Response,
) -> RoutingInspectionOut:
    outcome, new = await service.record_inspection(
        session=session,
        principal=principal,
        declaration_id=declaration_id,
        found=body.result == "found",
        findings=body.findings,
        seized=body.seized,
    )
    if not new:
        response.status_code = status.HTTP_200_OK
    await session.flush()
    return RoutingInspectionOut.model_validate(outcome)
