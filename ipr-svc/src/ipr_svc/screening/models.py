from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from customs_shared.db import UtcDateTime, utcnow
from ipr_svc.db import Base


class IprRecord(Base):
    """A right recorded with customs: imported from the earlier system or approved on an
    application; screening matches goods against its brands under its HS headings."""

    __tablename__ = "ipr_records"

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    registration_number: Mapped[str | None] = mapped_column(String(64), unique=True)
    right_type: Mapped[str] = mapped_column(String(32), default="trademark")
    owner: Mapped[str] = mapped_column(String(200), default="")
    holder_tenant: Mapped[str] = mapped_column(String(64), index=True)
    brands: Mapped[list[str]] = mapped_column(JSON, default=list)
    hs_headings: Mapped[list[str]] = mapped_column(JSON, default=list)
    authorised_importers: Mapped[list[str]] = mapped_column(JSON, default=list)
    offices: Mapped[list[str]] = mapped_column(JSON, default=list)
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime())
    valid_until: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16), default="active")
    source: Mapped[str] = mapped_column(String(16), default="import")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class IprScreening(Base):
    __tablename__ = "ipr_screenings"

    declaration_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    records_checked: Mapped[int] = mapped_column(Integer)
    hits: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    screened_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class IprHitRow(Base):
    """One hit, kept apart so a holder finds the hits on its own rights directly."""

    __tablename__ = "ipr_hits"

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    declaration_id: Mapped[uuid.UUID] = mapped_column(Uuid(), index=True)
    version: Mapped[int] = mapped_column(Integer)
    item_line: Mapped[int] = mapped_column(Integer)
    record_id: Mapped[str] = mapped_column(String(64))
    holder_tenant: Mapped[str] = mapped_column(String(64), index=True)
    matched: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(String(2000))
    score: Mapped[float] = mapped_column(Float)
    why: Mapped[str] = mapped_column(String(16))
    screened_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
