"""Trader profiles, country and HS risk lists and reference prices: what the rules read
besides the declaration. PUT creates or replaces (``If-Match: <version>`` guards against
overwriting a change made meanwhile); every change is versioned and audited."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response, status
from pydantic import BaseModel

from customs_shared.auth import RISK_MANAGERS, Principal, Scope, allow
from customs_shared.db import DbSession
from customs_shared.events.schemas import CountryCode, TaxCode
from customs_shared.problems import Forbidden, Unauthorized, problem_responses
from routing_svc.risk import repository, service
from routing_svc.risk.errors import RiskInputNotFound, VersionMismatch
from routing_svc.risk.models import RiskInput
from routing_svc.risk.schemas import (
    CountryRiskOut,
    CountryRiskPage,
    HsCode,
    HsRiskOut,
    HsRiskPage,
    PricedHsCode,
    ReferencePriceIn,
    ReferencePriceOut,
    ReferencePricePage,
    RiskListEntryIn,
    TraderProfileIn,
    TraderProfileOut,
    TraderProfilePage,
    UnitCode,
)

router = APIRouter(prefix="/api/v1/routing", tags=["routing risk inputs"])

RiskManager = Annotated[Principal, allow(Scope.ROUTING_RULES, RISK_MANAGERS)]
IfMatch = Annotated[
    str | None,
    Header(description="The version the change is based on; 412 if it is no longer current."),
]
After = Annotated[str | None, Query(max_length=64, description="next_after of the last page")]
Limit = Annotated[int, Query(ge=1, le=200)]
READ = problem_responses(Unauthorized, Forbidden, RiskInputNotFound)
DELETE = problem_responses(Unauthorized, Forbidden, RiskInputNotFound, VersionMismatch)
LIST = problem_responses(Unauthorized, Forbidden)


def _written(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """A PUT's answers: 200 with the next version, or 201 when it created the input."""
    return {
        status.HTTP_201_CREATED: {"model": model, "description": "Created, at version 1."},
        **problem_responses(Unauthorized, Forbidden, VersionMismatch),
    }


def _version(if_match: str | None) -> int | None:
    """The version an If-Match names (``3``, ``"3"`` or ``W/"3"``); -1 (matching
    nothing) for anything else, so a garbled precondition fails rather than passes."""
    if if_match is None:
        return None
    tag = if_match.strip().removeprefix("W/").strip('"')
    return int(tag) if tag.isdigit() and len(tag) < 10 else -1


def _fields(row: RiskInput) -> dict[str, Any]:
    return {
        **row.value,
        "version": row.version,
        "updated_by": row.updated_by,
        "updated_at": row.updated_at,
    }


def _etag(response: Response, row: RiskInput) -> None:
    response.headers["ETag"] = f'"{row.version}"'


async def _put(
    session: DbSession,
    principal: Principal,
    response: Response,
    kind: str,
    key: str,
    value: dict[str, Any],
    if_match: str | None,
) -> RiskInput:
    stored = await service.put(session, principal, kind, key, value, if_match=_version(if_match))
    if stored.created:
        response.status_code = status.HTTP_201_CREATED
    _etag(response, stored.row)
    return stored.row


async def _get(session: DbSession, response: Response, kind: str, key: str) -> RiskInput:
    row = await service.get(session, kind, key)
    _etag(response, row)
    return row


def _next(rows: list[RiskInput], limit: int) -> str | None:
    return rows[-1].key if len(rows) == limit else None


# Trader profiles -----------------------------------------------------------------------


def _trader(row: RiskInput) -> TraderProfileOut:
    return TraderProfileOut.model_validate({**_fields(row), "tax_code": row.key})


@router.put(
    "/trader-profiles/{tax_code}",
    response_model=TraderProfileOut,
    responses=_written(TraderProfileOut),
    summary="Set a trader's compliance class, priority (AEO) status and past violations.",
)
async def put_trader_profile(
    tax_code: TaxCode,
    body: TraderProfileIn,
    response: Response,
    principal: RiskManager,
    session: DbSession,
    if_match: IfMatch = None,
) -> TraderProfileOut:
    value = body.model_dump(mode="json")
    row = await _put(session, principal, response, repository.TRADER, tax_code, value, if_match)
    return _trader(row)


@router.get(
    "/trader-profiles/{tax_code}",
    response_model=TraderProfileOut,
    responses=READ,
    summary="A trader's profile.",
)
async def get_trader_profile(
    tax_code: TaxCode, response: Response, principal: RiskManager, session: DbSession
) -> TraderProfileOut:
    return _trader(await _get(session, response, repository.TRADER, tax_code))


@router.delete(
    "/trader-profiles/{tax_code}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=DELETE,
    summary="Remove a trader's profile (the rules then see an unknown trader).",
)
async def delete_trader_profile(
    tax_code: TaxCode, principal: RiskManager, session: DbSession, if_match: IfMatch = None
) -> None:
    await service.delete(
        session, principal, repository.TRADER, tax_code, if_match=_version(if_match)
    )


@router.get(
    "/trader-profiles",
    response_model=TraderProfilePage,
    responses=LIST,
    summary="Trader profiles, by tax code.",
)
async def list_trader_profiles(
    principal: RiskManager, session: DbSession, after: After = None, limit: Limit = 50
) -> TraderProfilePage:
    rows = list(await service.page(session, repository.TRADER, after=after, limit=limit))
    return TraderProfilePage(items=[_trader(r) for r in rows], next_after=_next(rows, limit))


# Country risk list ---------------------------------------------------------------------


def _country(row: RiskInput) -> CountryRiskOut:
    return CountryRiskOut.model_validate({**_fields(row), "code": row.key})


@router.put(
    "/risk-lists/countries/{code}",
    response_model=CountryRiskOut,
    responses=_written(CountryRiskOut),
    summary="Put a country (origin or export) on the risk list.",
)
async def put_country_risk(
    code: CountryCode,
    body: RiskListEntryIn,
    response: Response,
    principal: RiskManager,
    session: DbSession,
    if_match: IfMatch = None,
) -> CountryRiskOut:
    value = body.model_dump(mode="json")
    row = await _put(session, principal, response, repository.COUNTRY, code, value, if_match)
    return _country(row)


@router.get(
    "/risk-lists/countries/{code}",
    response_model=CountryRiskOut,
    responses=READ,
    summary="A country's entry on the risk list.",
)
async def get_country_risk(
    code: CountryCode, response: Response, principal: RiskManager, session: DbSession
) -> CountryRiskOut:
    return _country(await _get(session, response, repository.COUNTRY, code))


@router.delete(
    "/risk-lists/countries/{code}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=DELETE,
    summary="Take a country off the risk list.",
)
async def delete_country_risk(
    code: CountryCode, principal: RiskManager, session: DbSession, if_match: IfMatch = None
) -> None:
    await service.delete(session, principal, repository.COUNTRY, code, if_match=_version(if_match))


@router.get(
    "/risk-lists/countries",
    response_model=CountryRiskPage,
    responses=LIST,
    summary="The country risk list, by code.",
)
async def list_country_risks(
    principal: RiskManager, session: DbSession, after: After = None, limit: Limit = 50
) -> CountryRiskPage:
    rows = list(await service.page(session, repository.COUNTRY, after=after, limit=limit))
    return CountryRiskPage(items=[_country(r) for r in rows], next_after=_next(rows, limit))


# HS risk list --------------------------------------------------------------------------


def _hs(row: RiskInput) -> HsRiskOut:
    return HsRiskOut.model_validate({**_fields(row), "code": row.key})


@router.put(
    "/risk-lists/hs-codes/{code}",
    response_model=HsRiskOut,
    responses=_written(HsRiskOut),
    summary="Put an HS heading, subheading or tariff line on the risk list.",
)
async def put_hs_risk(
    code: HsCode,
    body: RiskListEntryIn,
    response: Response,
    principal: RiskManager,
    session: DbSession,
    if_match: IfMatch = None,
) -> HsRiskOut:
    value = body.model_dump(mode="json")
    row = await _put(session, principal, response, repository.HS, code, value, if_match)
    return _hs(row)


@router.get(
    "/risk-lists/hs-codes/{code}",
    response_model=HsRiskOut,
    responses=READ,
    summary="An HS code's entry on the risk list.",
)
async def get_hs_risk(
    code: HsCode, response: Response, principal: RiskManager, session: DbSession
) -> HsRiskOut:
    return _hs(await _get(session, response, repository.HS, code))


@router.delete(
    "/risk-lists/hs-codes/{code}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=DELETE,
    summary="Take an HS code off the risk list.",
)
async def delete_hs_risk(
    code: HsCode, principal: RiskManager, session: DbSession, if_match: IfMatch = None
) -> None:
    await service.delete(session, principal, repository.HS, code, if_match=_version(if_match))


@router.get(
    "/risk-lists/hs-codes",
    response_model=HsRiskPage,
    responses=LIST,
    summary="The HS risk list, by code.",
)
async def list_hs_risks(
    principal: RiskManager, session: DbSession, after: After = None, limit: Limit = 50
) -> HsRiskPage:
    rows = list(await service.page(session, repository.HS, after=after, limit=limit))
    return HsRiskPage(items=[_hs(r) for r in rows], next_after=_next(rows, limit))


# Reference prices ----------------------------------------------------------------------


def _price(row: RiskInput) -> ReferencePriceOut:
    hs_code, origin, unit = row.key.split("/")
    return ReferencePriceOut.model_validate(
        {**_fields(row), "hs_code": hs_code, "origin_country": origin, "unit": unit}
    )


@router.put(
    "/reference-prices/{hs_code}/{origin_country}/{unit}",
    response_model=ReferencePriceOut,
    responses=_written(ReferencePriceOut),
    summary="Set the reference unit price of goods of an HS code and origin, per unit.",
)
async def put_reference_price(
    hs_code: PricedHsCode,
    origin_country: CountryCode,
    unit: UnitCode,
    body: ReferencePriceIn,
    response: Response,
    principal: RiskManager,
    session: DbSession,
    if_match: IfMatch = None,
) -> ReferencePriceOut:
    key = repository.reference_price_key(hs_code, origin_country, unit)
    value = body.model_dump(mode="json")
    value["unit_price_vnd"] = str(body.unit_price_vnd)
    row = await _put(session, principal, response, repository.REFERENCE_PRICE, key, value, if_match)
    return _price(row)


@router.get(
    "/reference-prices/{hs_code}/{origin_country}/{unit}",
    response_model=ReferencePriceOut,
    responses=READ,
    summary="A reference unit price.",
)
async def get_reference_price(
    hs_code: PricedHsCode,
    origin_country: CountryCode,
    unit: UnitCode,
    response: Response,
    principal: RiskManager,
    session: DbSession,
) -> ReferencePriceOut:
    key = repository.reference_price_key(hs_code, origin_country, unit)
    return _price(await _get(session, response, repository.REFERENCE_PRICE, key))


@router.delete(
    "/reference-prices/{hs_code}/{origin_country}/{unit}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=DELETE,
    summary="Remove a reference unit price.",
)
async def delete_reference_price(
    hs_code: PricedHsCode,
    origin_country: CountryCode,
    unit: UnitCode,
    principal: RiskManager,
    session: DbSession,
    if_match: IfMatch = None,
) -> None:
    key = repository.reference_price_key(hs_code, origin_country, unit)
    await service.delete(
        session, principal, repository.REFERENCE_PRICE, key, if_match=_version(if_match)
    )


@router.get(
    "/reference-prices",
    response_model=ReferencePricePage,
    responses=LIST,
    summary="Reference unit prices, by HS code, origin and unit.",
)
async def list_reference_prices(
    principal: RiskManager, session: DbSession, after: After = None, limit: Limit = 50
) -> ReferencePricePage:
    rows = list(await service.page(session, repository.REFERENCE_PRICE, after=after, limit=limit))
    return ReferencePricePage(items=[_price(r) for r in rows], next_after=_next(rows, limit))
