from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

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
from ipr_svc.applications import review, service
from ipr_svc.applications.errors import (
    ApplicantNotEnterprise,
    ApplicationNotFound,
    RenewalTooLate,
    RightExpired,
    WrongStatus,
)
from ipr_svc.applications.schemas import (
    ApplicationIn,
    ApplicationList,
    ApplicationOut,
    ApprovalIn,
    DecisionIn,
    ExtensionIn,
    Gaps,
    IprDecisionList,
    IprDecisionOut,
    IprPendingRenewal,
    IprRenewalQueue,
    RenewalIn,
)
from ipr_svc.records.schemas import RightType

router = APIRouter(prefix="/api/v1/ipr", tags=["ipr"])

Applicant = Annotated[Principal, allow(Scope.IPR_WRITE, RIGHT_HOLDERS)]
Reader = Annotated[Principal, allow(Scope.IPR_READ, RIGHT_HOLDERS_AND_CUSTOMS)]
Reviewer = Annotated[Principal, allow(Scope.IPR_REVIEW, CUSTOMS_STAFF)]
DECISION_PROBLEMS = problem_responses(Unauthorized, Forbidden, ApplicationNotFound, WrongStatus)


@router.post(
    "/applications",
    response_model=ApplicationOut,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(Unauthorized, Forbidden, RightExpired, ApplicantNotEnterprise),
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
    responses=problem_responses(Unauthorized, Forbidden, InvalidCursor),
    summary="The caller's applications, newest first (customs staff: every one).",
)
async def list_applications(
    principal: Reader,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    after: AfterRow = None,
) -> ApplicationList:
    page = await service.listing(session=session, principal=principal, limit=limit, after=after)
    return ApplicationList(
        items=[ApplicationOut.model_validate(r) for r in page.items], next_after=page.next_after
    )


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


@router.get(
    "/applications/{application_id}/gaps",
    response_model=Gaps,
    responses=problem_responses(Unauthorized, Forbidden, ApplicationNotFound),
    summary="The completeness check: what the applicant must still give.",
)
async def application_gaps(
    application_id: uuid.UUID, principal: Reader, session: DbSession
) -> Gaps:
    row = await service.get(session=session, principal=principal, application_id=application_id)
    found = await review.completeness(session, row)
    return Gaps(complete=not found, gaps=found)


@router.get(
    "/applications/{application_id}/decisions",
    response_model=IprDecisionList,
    responses=problem_responses(Unauthorized, Forbidden, ApplicationNotFound),
    summary="The audit trail: every decision on the application (who, when, what, why), "
    "oldest first.",
)
async def application_decisions(
    application_id: uuid.UUID, principal: Reader, session: DbSession
) -> IprDecisionList:
    rows = await review.decisions(
        session=session, principal=principal, application_id=application_id
    )
    return IprDecisionList(items=[IprDecisionOut.model_validate(r) for r in rows])


@router.get(
    "/renewals",
    response_model=IprRenewalQueue,
    responses=problem_responses(Unauthorized, Forbidden, InvalidCursor),
    summary="Officers' queue: renewals filed and not yet decided, oldest first.",
)
async def renewal_queue(
    principal: Reviewer,
    session: DbSession,
    after: AfterRow = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> IprRenewalQueue:
    rows, next_after = await review.renewal_queue(session=session, after=after, limit=limit)
    return IprRenewalQueue(
        items=[
            IprPendingRenewal(
                renewal_id=decision.id,
                application_id=application.id,
                applicant_tenant=application.applicant_tenant,
                registration_number=application.registration_number,
                right_type=RightType(application.right_type),
                owner=application.owner,
                valid_until=application.valid_until,
                requested_valid_until=decision.valid_until,
                right_valid_until=application.right_valid_until,
                filed_at=decision.decided_at,
            )
            for decision, application in rows
        ],
        next_after=next_after,
    )


@router.post(
    "/applications/{application_id}/approve",
    response_model=ApplicationOut,
    responses=DECISION_PROBLEMS,
    summary="Approve: the application becomes an active record for the validity given.",
)
async def approve_application(
    application_id: uuid.UUID, body: ApprovalIn, principal: Reviewer, session: DbSession
) -> ApplicationOut:
    await review.approve(
        session=session,
        principal=principal,
        application_id=application_id,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        reason=body.reason,
    )
    row = await service.get(session=session, principal=principal, application_id=application_id)
    return ApplicationOut.model_validate(row)


@router.post(
    "/applications/{application_id}/reject",
    response_model=ApplicationOut,
    responses=DECISION_PROBLEMS,
    summary="Reject a filed application, with the reason.",
)
async def reject_application(
    application_id: uuid.UUID, body: DecisionIn, principal: Reviewer, session: DbSession
) -> ApplicationOut:
    row = await review.reject(
        session=session, principal=principal, application_id=application_id, reason=body.reason
    )
    return ApplicationOut.model_validate(row)


@router.post(
    "/applications/{application_id}/revoke",
    response_model=ApplicationOut,
    responses=DECISION_PROBLEMS,
    summary="Revoke an approved application: its record is screened against no more.",
)
async def revoke_application(
    application_id: uuid.UUID, body: DecisionIn, principal: Reviewer, session: DbSession
) -> ApplicationOut:
    row = await review.revoke(
        session=session, principal=principal, application_id=application_id, reason=body.reason
    )
    return ApplicationOut.model_validate(row)


@router.post(
    "/applications/{application_id}/renewal",
    response_model=ApplicationOut,
    responses=problem_responses(
        Unauthorized, Forbidden, ApplicationNotFound, WrongStatus, RenewalTooLate
    ),
    summary="The holder asks to extend an approved application (at least 20 days ahead).",
)
async def file_renewal(
    application_id: uuid.UUID, body: RenewalIn, principal: Applicant, session: DbSession
) -> ApplicationOut:
    row = await review.file_renewal(
        session=session,
        principal=principal,
        application_id=application_id,
        valid_until=body.valid_until,
    )
    return ApplicationOut.model_validate(row)


@router.post(
    "/applications/{application_id}/extend",
    response_model=ApplicationOut,
    responses=DECISION_PROBLEMS,
    summary="Extend an approved application's validity, never past the right's term.",
)
async def extend_application(
    application_id: uuid.UUID, body: ExtensionIn, principal: Reviewer, session: DbSession
) -> ApplicationOut:
    row = await review.extend(
        session=session,
        principal=principal,
        application_id=application_id,
        valid_until=body.valid_until,
        reason=body.reason,
    )
    return ApplicationOut.model_validate(row)
