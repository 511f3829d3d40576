"""Trader profiles, country and HS risk lists and reference prices: what the rules read
besides the declaration. PUT creates or replaces (``If-Match: <version>`` guards against
overwriting a change made meanwhile); every change is versioned and audited."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from customs_shared.db import DbSession
from customs_shared.events.schemas import CountryCode, TaxCode
from routing_svc.risk import repository, service
from routing_svc.risk.models import RiskInput
from routing_svc.risk.routes import (
    DELETE,
    LIST,
    READ,
    After,
    IfMatch,
    Limit,
    RiskManager,
    fields,
    get,
    keyed_input_routes,
    next_after,
    put,
    version,
    written,
)
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

keyed_input_routes(
    router,
    path="/trader-profiles",
    kind=repository.TRADER,
    key_name="tax_code",
    key_type=TaxCode,
    body=TraderProfileIn,
    out=TraderProfileOut,
    page=TraderProfilePage,
    name="trader_profile",
    summaries={
        "put": "Set a trader's compliance class, priority (AEO) status and past violations.",
        "get": "A trader's profile.",
        "delete": "Remove a trader's profile (the rules then see an unknown trader).",
        "list": "Trader profiles, by tax code.",
    },
)
keyed_input_routes(
    router,
    path="/risk-lists/countries",
    kind=repository.COUNTRY,
    key_name="code",
    key_type=CountryCode,
    body=RiskListEntryIn,
    out=CountryRiskOut,
    page=CountryRiskPage,
    name="country_risk",
    summaries={
        "put": "Put a country (origin or export) on the risk list.",
        "get": "A country's entry on the risk list.",
        "delete": "Take a country off the risk list.",
        "list": "The country risk list, by code.",
    },
)
keyed_input_routes(
    router,
    path="/risk-lists/hs-codes",
    kind=repository.HS,
    key_name="code",
    key_type=HsCode,
    body=RiskListEntryIn,
    out=HsRiskOut,
    page=HsRiskPage,
    name="hs_risk",
    summaries={
        "put": "Put an HS heading, subheading or tariff line on the risk list.",
        "get": "An HS code's entry on the risk list.",
        "delete": "Take an HS code off the risk list.",
        "list": "The HS risk list, by code.",
    },
)


# Reference prices: three path parts make the key.


def _price(row: RiskInput) -> ReferencePriceOut:
    hs_code, origin, unit = row.key.split("/")
    return ReferencePriceOut.model_validate(
        {**fields(row), "hs_code": hs_code, "origin_country": origin, "unit": unit}
    )


@router.put(
    "/reference-prices/{hs_code}/{origin_country}/{unit}",
    response_model=ReferencePriceOut,
    responses=written(ReferencePriceOut),
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
    row = await put(session, principal, response, repository.REFERENCE_PRICE, key, value, if_match)
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
    return _price(await get(session, response, repository.REFERENCE_PRICE, key))


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
        session, principal, repository.REFERENCE_PRICE, key, if_match=version(if_match)
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
    return ReferencePricePage(items=[_price(r) for r in rows], next_after=next_after(rows, limit))
