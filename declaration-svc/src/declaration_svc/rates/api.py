from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query

from customs_shared.auth import ADMINS, TRADERS_AND_CUSTOMS, Principal, Scope, allow
from customs_shared.db import DbSession
from customs_shared.problems import Forbidden, Unauthorized, problem_responses
from declaration_svc.rates import service
from declaration_svc.rates.errors import ExchangeRateNotFound
from declaration_svc.rates.schemas import RateOut, RatesIn, RatesLoaded

router = APIRouter(prefix="/api/v1/declarations/exchange-rates", tags=["exchange rates"])

Operator = Annotated[Principal, allow(Scope.ADMIN, ADMINS)]
Reader = Annotated[Principal, allow(Scope.DECLARATIONS_READ, TRADERS_AND_CUSTOMS)]


@router.post(
    "",
    response_model=RatesLoaded,
    responses=problem_responses(Unauthorized, Forbidden),
    summary="Load customs exchange rates (VND per unit), each with the date it applies from.",
)
async def load_rates(body: RatesIn, principal: Operator, session: DbSession) -> RatesLoaded:
    return RatesLoaded(loaded=await service.load(session=session, principal=principal, body=body))


@router.get(
    "/{currency}",
    response_model=RateOut,
    responses=problem_responses(Unauthorized, Forbidden, ExchangeRateNotFound),
    summary="The customs exchange rate of a currency in force on a date (today by default).",
)
async def rate_in_force(
    currency: Annotated[str, Path(pattern=r"^[A-Z]{3}$")],
    _principal: Reader,
    session: DbSession,
    on: Annotated[date | None, Query(description="Declaration date; today in Vietnam.")] = None,
) -> RateOut:
    rate = await service.in_force(session=session, currency=currency, on=on)
    return RateOut.model_validate(rate)
