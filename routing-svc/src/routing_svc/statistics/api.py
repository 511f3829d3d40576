from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from customs_shared.auth import CUSTOMS_STAFF, RISK_MANAGERS, Principal, Scope, allow
from customs_shared.db import DbSession
from customs_shared.problems import (
    BadRequest,
    Forbidden,
    Unauthorized,
    UnprocessableContent,
    problem_responses,
)
from routing_svc.lanes.dependencies import Policy
from routing_svc.rules.definitions import OfficeCode
from routing_svc.statistics import service
from routing_svc.statistics.schemas import RoutingRuleHitRates, RoutingStatistics

router = APIRouter(prefix="/api/v1/routing", tags=["routing statistics"])

# Risk managers too: hit rates are what they tune the rules by.
Staff = Annotated[Principal, allow(Scope.ROUTING_READ, CUSTOMS_STAFF | RISK_MANAGERS)]
From = Annotated[
    AwareDatetime | None,
    Query(alias="from", description="Start of the period (inclusive); default `to` - 30 days."),
]
To = Annotated[
    AwareDatetime | None, Query(alias="to", description="End of the period (exclusive); now.")
]
Office = Annotated[OfficeCode | None, Query(description="One office only.")]
_ERRORS = problem_responses(Unauthorized, Forbidden, BadRequest, UnprocessableContent)


@router.get(
    "/statistics",
    response_model=RoutingStatistics,
    responses=_ERRORS,
    summary="Lane shares beside the capacity targets, submission-to-decision percentiles, "
    "random selections and each rule's selection and hit rate, per office and period.",
)
async def get_statistics(
    principal: Staff,
    session: DbSession,
    policy: Policy,
    office: Office = None,
    start: From = None,
    end: To = None,
) -> RoutingStatistics:
    del principal  # customs staff see every office
    return await service.statistics(
        session=session, policy=policy, span=service.period(start, end, office)
    )


@router.get(
    "/rules/hit-rates",
    response_model=RoutingRuleHitRates,
    responses=_ERRORS,
    summary="Per rule: decisions it fired on, inspections where it had fired and what they "
    "found; random checks as the baseline.",
)
async def get_hit_rates(
    principal: Staff,
    session: DbSession,
    office: Office = None,
    start: From = None,
    end: To = None,
) -> RoutingRuleHitRates:
    del principal
    return await service.hit_rates(session=session, span=service.period(start, end, office))
