from __future__ import annotations

from customs_shared.problems import NotFound, UnprocessableContent


class ExchangeRateMissing(UnprocessableContent):
    slug = "exchange-rate-missing"
    title = "No customs exchange rate applies to the currency on the declaration date"


class ExchangeRateNotFound(NotFound):
    slug = "exchange-rate-not-found"
    title = "No customs exchange rate applies to the currency on that date"
