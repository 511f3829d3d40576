from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from customs_shared.auth import RISK_MANAGERS, Principal, Scope, allow
from customs_shared.db import DbSession
from customs_shared.problems import Forbidden, Unauthorized, problem_responses
from routing_svc.audit import repository
from routing_svc.audit.schemas import AuditEntryOut, AuditPage

router = APIRouter(prefix="/api/v1/routing", tags=["routing rules"])

RiskManager = Annotated[Principal, allow(Scope.ROUTING_RULES, RISK_MANAGERS)]


@router.get(
    "/audit",
    response_model=AuditPage,
    responses=problem_responses(Unauthorized, Forbidden),
    summary="Who changed what routing decides with, newest first.",
)
async def list_audit(
    principal: RiskManager,
    session: DbSession,
    subject_prefix: Annotated[
        str | None, Query(max_length=200, description="e.g. rule-set/ or trader/0312345673")
    ] = None,
    # The id column is a 64-bit integer: a larger number is no position, not a database error.
    before: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="next_before of the last page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditPage:
    rows = await repository.entries(
        session, subject_prefix=subject_prefix, before_id=before, limit=limit
    )
    return AuditPage(
        items=[AuditEntryOut.model_validate(r) for r in rows],
        next_before=rows[-1].id if len(rows) == limit else None,
    )
