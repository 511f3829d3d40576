from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from customs_shared.db import UtcDateTime, utcnow
from ipr_svc.db import Base


class IprApplication(Base):
    """A right holder's application for customs action, as filed; review comes after."""

    __tablename__ = "ipr_applications"

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    applicant_tenant: Mapped[str] = mapped_column(String(64), index=True)
    # enterprise (its tenant is its tax code) or individual
    applicant_kind: Mapped[str] = mapped_column(
        String(16), default="enterprise", server_default="enterprise"
    )
    # who files on the holder's behalf: name, tax_code or id_number; none when the holder does
    representative: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="filed")
    right_type: Mapped[str] = mapped_column(String(32))
    registration_number: Mapped[str] = mapped_column(String(64))
    registration_office: Mapped[str] = mapped_column(String(100))
    owner: Mapped[str] = mapped_column(String(200))
    right_valid_until: Mapped[date] = mapped_column(Date())
    goods: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    authorised_importers: Mapped[list[str]] = mapped_column(JSON, default=list)
    suspected_infringers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    offices: Mapped[list[str]] = mapped_column(JSON, default=list)
    valid_from: Mapped[date] = mapped_column(Date())
    valid_until: Mapped[date] = mapped_column(Date())
    contact: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    notification_url: Mapped[str | None] = mapped_column(String(2000))
    filed_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class IprDecision(Base):
    """Every decision on an application, kept: who, when, what and why."""

    __tablename__ = "ipr_decisions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    application_id: Mapped[uuid.UUID] = mapped_column(Uuid(), index=True)
    action: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(2000), default="")
    valid_from: Mapped[date | None] = mapped_column(Date())
    valid_until: Mapped[date | None] = mapped_column(Date())
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
