"""All SQL of the exchange rates."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from customs_shared.db import upsert
from customs_shared.repository import RepositoryBase
from declaration_svc.rates.models import ExchangeRate


class ExchangeRateRepository(RepositoryBase[ExchangeRate]):
    """Rates belong to no tenant: they are the customs authority's, read by all."""

    model = ExchangeRate

    async def in_force(self, currency: str, on: date) -> ExchangeRate | None:
        statement = (
            select(ExchangeRate)
            .where(ExchangeRate.currency == currency, ExchangeRate.valid_from <= on)
            .order_by(ExchangeRate.valid_from.desc())
            .limit(1)
        )
        result: ExchangeRate | None = (await self.session.scalars(statement)).one_or_none()
        return result

    async def store(self, rows: list[dict[str, Any]]) -> None:
        await upsert(
            self.session, ExchangeRate, rows, update=["vnd_per_unit", "loaded_by", "loaded_at"]
        )
