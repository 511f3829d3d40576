from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from customs_shared import uploads
from customs_shared.auth import CUSTOMS_STAFF, RIGHT_HOLDERS_AND_CUSTOMS, Principal, Scope, allow
from customs_shared.db import DbSession
from customs_shared.pagination import AfterRow
from customs_shared.problems import (
    Forbidden,
    InvalidCursor,
    PayloadTooLarge,
    Unauthorized,
    problem_responses,
)
from ipr_svc.records import service
from ipr_svc.records.errors import MalformedImport
from ipr_svc.records.schemas import ImportReport, ImportRequest, RecordList, RecordOut

router = APIRouter(prefix="/api/v1/ipr", tags=["ipr"])

Reviewer = Annotated[Principal, allow(Scope.IPR_REVIEW, CUSTOMS_STAFF)]
Reader = Annotated[Principal, allow(Scope.IPR_READ, RIGHT_HOLDERS_AND_CUSTOMS)]

MAX_IMPORT_BYTES = uploads.FILE_MAX_BYTES  # the upload limit every file here has
CSV_COLUMNS = (
    "registration_number, right_type, owner, brands, hs_headings, authorised_importers, "
    "offices, valid_from, valid_until (list cells separated by ';')"
)
_IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": ImportRequest.model_json_schema()},
            "text/csv": {"schema": {"type": "string", "description": CSV_COLUMNS}},
        },
    }
}


async def _read(request: Request) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_IMPORT_BYTES:
            raise PayloadTooLarge(f"An import is at most {MAX_IMPORT_BYTES} bytes.")
    return bytes(body)


@router.post(
    "/records/import",
    response_model=ImportReport,
    responses=problem_responses(Unauthorized, Forbidden, MalformedImport, PayloadTooLarge),
    summary="Import records still valid from the earlier system (JSON or CSV), row by row.",
    openapi_extra=_IMPORT_BODY,
)
async def import_records(request: Request, principal: Reviewer, session: DbSession) -> ImportReport:
    del principal  # the policy is the check; records are customs', whoever imports them
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    body = await _read(request)
    if media_type == "application/json":
        rows = service.parse_json(body)
    elif media_type == "text/csv":
        rows = service.parse_csv(body)
    else:
        raise MalformedImport("Send application/json or text/csv.")
    return await service.import_records(session, rows)


@router.get(
    "/records",
    response_model=RecordList,
    responses=problem_responses(Unauthorized, Forbidden, InvalidCursor),
    summary="The holder's own records (customs staff: every one), newest change first.",
)
async def list_records(
    principal: Reader,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    after: AfterRow = None,
) -> RecordList:
    page = await service.listing(session=session, principal=principal, limit=limit, after=after)
    return RecordList(
        items=[RecordOut.model_validate(r) for r in page.items], next_after=page.next_after
    )
