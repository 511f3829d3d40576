from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from customs_shared.db import UtcDateTime, utcnow
from ipr_svc.db import Base


class IprRecord(Base):
    """A right recorded with customs. Filing and review come with the IPR issue."""

    __tablename__ = "ipr_records"

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    holder_tenant: Mapped[str] = mapped_column(String(64), index=True)
    mark: Mapped[str] = mapped_column(String(200))
    hs_prefixes: Mapped[list[str]] = mapped_column(JSON, default=list)
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime())
    valid_until: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16), default="active")


class IprScreening(Base):
    __tablename__ = "ipr_screenings"

    declaration_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    records_checked: Mapped[int] = mapped_column(Integer)
    hits: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    screened_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
