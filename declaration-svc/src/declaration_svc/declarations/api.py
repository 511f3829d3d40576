from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import AwareDatetime

from customs_shared.app import service_runtime
from customs_shared.auth import (
    CUSTOMS_STAFF,
    TRADERS,
    TRADERS_AND_CUSTOMS,
    Principal,
    Scope,
    allow,
)
from customs_shared.canonical import sent_digests_of
from customs_shared.db import DbSession
from customs_shared.events.schemas import Lane
from customs_shared.pagination import CursorCodec
from customs_shared.problems import (
    Forbidden,
    InvalidCursor,
    PayloadTooLarge,
    Unauthorized,
    problem_responses,
)
from declaration_svc.declarations import amendments, service
from declaration_svc.declarations.dependencies import IdempotencyKey, IfMatch
from declaration_svc.declarations.errors import (
    DeclarationNotFound,
    IdempotencyKeyReused,
    IdempotentRequestInFlight,
    IfMatchRequired,
    IllegalTransition,
    IprSuspended,
    NotYourEnterprise,
    StaleVersion,
    VersionNotFound,
)
from declaration_svc.declarations.models import DeclarationStatus
from declaration_svc.declarations.repository import ListFilter
from declaration_svc.declarations.schemas import (
    Cancellation,
    DeclarationAccepted,
    DeclarationIn,
    DeclarationOut,
    DeclarationPage,
    DeclarationSummary,
    StatusChange,
)
from declaration_svc.rates.errors import ExchangeRateMissing
from declaration_svc.settings import DeclarationSettings

router = APIRouter(prefix="/api/v1/declarations", tags=["declarations"])

Submitter = Annotated[Principal, allow(Scope.DECLARATIONS_WRITE, TRADERS)]
Reader = Annotated[Principal, allow(Scope.DECLARATIONS_READ, TRADERS_AND_CUSTOMS)]
Officer = Annotated[Principal, allow(Scope.DECLARATIONS_DECIDE, CUSTOMS_STAFF)]


def _settings(request: Request) -> DeclarationSettings:
    settings: DeclarationSettings = service_runtime(request).settings
    return settings


async def _cursor_codec(request: Request) -> CursorCodec:
    return _settings(request).cursor_codec()


Cursors = Annotated[CursorCodec, Depends(_cursor_codec)]


def status_url(declaration_id: uuid.UUID) -> str:
    return f"/api/v1/declarations/{declaration_id}"


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeclarationAccepted,
    responses=problem_responses(
        Unauthorized,
        NotYourEnterprise,
        IdempotencyKeyReused,
        IdempotentRequestInFlight,
        ExchangeRateMissing,
        PayloadTooLarge,
    ),
    summary="Submit a declaration; screening and lane assignment follow asynchronously.",
)
async def submit_declaration(
    body: DeclarationIn,
    principal: Submitter,
    session: DbSession,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> DeclarationAccepted:
    submission = await service.submit(
        session=session,
        principal=principal,
        body=body,
        idempotency_key=idempotency_key,
        sent=await sent_digests_of(request, signed=bool(body.signature)),
        receipt_keys=_settings(request).receipt_keys(),
    )
    url = status_url(submission.declaration_id)
    response.headers["Location"] = url
    if submission.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return DeclarationAccepted(
        id=submission.declaration_id,
        status=submission.status,
        status_url=url,
        receipt=submission.receipt,
    )


@router.get(
    "/{declaration_id}",
    response_model=DeclarationOut,
    responses=problem_responses(Unauthorized, Forbidden, DeclarationNotFound),
    summary="Status, lane with its reasons, items and timeline of one declaration.",
)
async def get_declaration(
    declaration_id: uuid.UUID, principal: Reader, session: DbSession, response: Response
) -> DeclarationOut:
    declaration = await service.get(
        session=session, principal=principal, declaration_id=declaration_id
    )
    response.headers["ETag"] = amendments.etag(declaration)
    return DeclarationOut.model_validate(declaration)


@router.put(
    "/{declaration_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeclarationAccepted,
    responses=problem_responses(
        Unauthorized,
        Forbidden,
        DeclarationNotFound,
        IllegalTransition,
        StaleVersion,
        IfMatchRequired,
        IdempotencyKeyReused,
        IdempotentRequestInFlight,
        ExchangeRateMissing,
        PayloadTooLarge,
    ),
    summary="Amend a declaration before release: a new version, screened and routed again. "
    "If-Match names the version amended (412 when it is no longer the current one).",
)
async def amend_declaration(
    declaration_id: uuid.UUID,
    body: DeclarationIn,
    principal: Submitter,
    session: DbSession,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> DeclarationAccepted:
    amended = await amendments.amend(
        session=session,
        principal=principal,
        declaration_id=declaration_id,
        body=body,
        if_match=if_match,
        receipt_keys=_settings(request).receipt_keys(),
        sent=await sent_digests_of(request, signed=bool(body.signature)),
        idempotency_key=idempotency_key,
    )
    url = status_url(amended.declaration_id)
    response.headers["Location"] = url
    response.headers["ETag"] = amendments.version_etag(amended.version)
    if amended.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return DeclarationAccepted(
        id=amended.declaration_id,
        status=amended.status,
        status_url=url,
        version=amended.version,
        receipt=amended.receipt,
    )


@router.post(
    "/{declaration_id}/cancel",
    response_model=DeclarationOut,
    responses=problem_responses(
        Unauthorized, Forbidden, DeclarationNotFound, IllegalTransition, StaleVersion
    ),
    summary="Cancel a declaration before release, with the reason (If-Match optional).",
)
async def cancel_declaration(
    declaration_id: uuid.UUID,
    body: Cancellation,
    principal: Submitter,
    session: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> DeclarationOut:
    await amendments.cancel(
        session=session,
        principal=principal,
        declaration_id=declaration_id,
        reason=body.reason,
        if_match=if_match,
    )
    declaration = await service.get(
        session=session, principal=principal, declaration_id=declaration_id
    )
    response.headers["ETag"] = amendments.etag(declaration)
    return DeclarationOut.model_validate(declaration)


@router.get(
    "/{declaration_id}/versions/{version}",
    response_model=DeclarationOut,
    responses=problem_responses(Unauthorized, Forbidden, DeclarationNotFound, VersionNotFound),
    summary="One version of a declaration: the current one or one an amendment replaced.",
)
async def get_declaration_version(
    declaration_id: uuid.UUID,
    version: Annotated[int, Path(ge=1, le=10_000)],
    principal: Reader,
    session: DbSession,
) -> DeclarationOut:
    return await amendments.version(
        session=session, principal=principal, declaration_id=declaration_id, number=version
    )


@router.get(
    "",
    response_model=DeclarationPage,
    responses=problem_responses(Unauthorized, Forbidden, InvalidCursor),
    summary="The caller's declarations, newest first, by pages; filter by status, lane, "
    "submission time, customs office and declarant tax code.",
)
async def list_declarations(
    principal: Reader,
    session: DbSession,
    cursors: Cursors,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    status_filter: Annotated[DeclarationStatus | None, Query(alias="status")] = None,
    lane: Lane | None = None,
    submitted_from: Annotated[
        AwareDatetime | None, Query(description="Submitted at or after (with its offset).")
    ] = None,
    submitted_to: Annotated[AwareDatetime | None, Query(description="Submitted before.")] = None,
    customs_office: Annotated[str | None, Query(pattern=r"^[0-9A-Z]{2,8}$")] = None,
    declarant_tax_code: Annotated[str | None, Query(pattern=r"^\d{10}(-\d{3})?$")] = None,
) -> DeclarationPage:
    rows, next_cursor = await service.list_page(
        session=session,
        principal=principal,
        cursors=cursors,
        limit=limit,
        cursor=cursor,
        filters=ListFilter(
            status=status_filter,
            lane=lane,
            submitted_from=submitted_from,
            submitted_to=submitted_to,
            customs_office=customs_office,
            declarant_tax_code=declarant_tax_code,
        ),
    )
    return DeclarationPage(
        items=[DeclarationSummary.model_validate(d) for d in rows],
        next_cursor=next_cursor,
    )


@router.post(
    "/{declaration_id}/status",
    response_model=DeclarationOut,
    responses=problem_responses(
        Unauthorized, Forbidden, DeclarationNotFound, IllegalTransition, IprSuspended
    ),
    summary="An officer's decision: inspect, hold, release or reject; 409 if the status "
    "does not allow it or an IPR suspension forbids release.",
)
async def change_status(
    declaration_id: uuid.UUID, body: StatusChange, principal: Officer, session: DbSession
) -> DeclarationOut:
    await service.change_status(
        session=session,
        principal=principal,
        declaration_id=declaration_id,
        target=DeclarationStatus(body.status),
        reason=body.reason,
    )
    declaration = await service.get(
        session=session, principal=principal, declaration_id=declaration_id
    )
    return DeclarationOut.model_validate(declaration)
