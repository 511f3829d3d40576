from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from customs_shared.db import UtcDateTime, utcnow
from routing_svc.db import Base


class RiskInput(Base):
    """One risk input officers keep: a trader profile, a country or HS code on the risk
    lists, or a reference price. Each change bumps ``version`` and is audited with the
    value before and after."""

    __tablename__ = "risk_inputs"

    # trader (key: tax code), country (alpha-2), hs (4, 6 or 8 digits),
    # reference-price (key: "<hs code>/<origin>/<unit>")
    kind: Mapped[str] = mapped_column(String(24), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
