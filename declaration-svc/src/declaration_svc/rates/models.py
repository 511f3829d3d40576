from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, String
from sqlalchemy.orm import Mapped, mapped_column

from customs_shared.db import UtcDateTime, utcnow
from declaration_svc.db import Base
from declaration_svc.declarations.models import RATE


class ExchangeRate(Base):
    """A customs exchange rate: VND per unit of ``currency`` from ``valid_from`` on,
    until the next rate of the same currency applies."""

    __tablename__ = "exchange_rates"

    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    valid_from: Mapped[date] = mapped_column(Date(), primary_key=True)
    vnd_per_unit: Mapped[Decimal] = mapped_column(RATE)
    loaded_by: Mapped[str] = mapped_column(String(128))
    loaded_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
