"""Customs exchange rates: loaded by operators, applied by the declaration date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.auth import Principal
from customs_shared.db import utcnow
from declaration_svc.rates.errors import ExchangeRateMissing, ExchangeRateNotFound
from declaration_svc.rates.models import ExchangeRate
from declaration_svc.rates.repository import ExchangeRateRepository
from declaration_svc.rates.schemas import RatesIn

# Vietnam keeps UTC+7 all year: the declaration date is the calendar date there.
VIETNAM = timezone(timedelta(hours=7), "ICT")
_ONE_DONG = Decimal(1)
_ONE = Decimal(1)


def declaration_date(at: datetime) -> date:
    return at.astimezone(VIETNAM).date()


@dataclass(frozen=True, slots=True)
class Conversion:
    """Converts amounts in one currency to VND at one rate."""

    currency: str
    vnd_per_unit: Decimal

    def to_vnd(self, amount: Decimal) -> Decimal:
        # The dong has no minor unit in use.
        return (amount * self.vnd_per_unit).quantize(_ONE_DONG, rounding=ROUND_HALF_UP)


async def conversion(session: AsyncSession, currency: str, at: datetime) -> Conversion:
    """The conversion for a declaration in ``currency`` submitted at ``at``; a 422
    when no rate has been loaded for that currency and date."""
    if currency == "VND":
        return Conversion(currency, _ONE)
    on = declaration_date(at)
    rate = await ExchangeRateRepository(session).in_force(currency, on)
    if rate is None:
        raise ExchangeRateMissing(
            f"No customs exchange rate for {currency} applies on {on.isoformat()}; "
            "declare in VND or ask customs to load the rate."
        )
    return Conversion(currency, rate.vnd_per_unit)


async def load(*, session: AsyncSession, principal: Principal, body: RatesIn) -> int:
    now = utcnow()
    unique = {(r.currency, r.valid_from): r for r in body.rates}  # the last one given wins
    await ExchangeRateRepository(session).store(
        [
            {
                "currency": r.currency,
                "valid_from": r.valid_from,
                "vnd_per_unit": r.vnd_per_unit,
                "loaded_by": principal.subject,
                "loaded_at": now,
            }
            for r in unique.values()
        ]
    )
    return len(unique)


async def in_force(*, session: AsyncSession, currency: str, on: date | None) -> ExchangeRate:
    day = on or declaration_date(datetime.now(UTC))
    rate = await ExchangeRateRepository(session).in_force(currency, day)
    if rate is None:
        raise ExchangeRateNotFound(f"No customs exchange rate for {currency} on {day}.")
    return rate
