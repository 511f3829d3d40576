from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from customs_shared.db import UtcDateTime, utcnow
from routing_svc.db import Base


class Officer(Base):
    """An officer who works an office's yellow and red declarations."""

    __tablename__ = "officers"

    subject: Mapped[str] = mapped_column(String(200), primary_key=True)
    office: Mapped[str] = mapped_column(String(8), index=True)
    on_duty: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Assignment(Base):
    """A yellow or red declaration in an officer's queue until its outcome is recorded."""

    __tablename__ = "assignments"
    __table_args__ = (
        Index(
            "ix_assignments_open",
            "officer",
            "assigned_at",
            postgresql_where=text("closed_at IS NULL"),
        ),
    )

    declaration_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    tenant: Mapped[str] = mapped_column(String(64))
    office: Mapped[str] = mapped_column(String(8), index=True)
    lane: Mapped[str] = mapped_column(String(8))
    officer: Mapped[str | None] = mapped_column(String(200), nullable=True)
    assigned_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class LaneOverride(Base):
    __tablename__ = "lane_overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    declaration_id: Mapped[uuid.UUID] = mapped_column(Uuid(), index=True)
    version: Mapped[int] = mapped_column(Integer)
    from_lane: Mapped[str] = mapped_column(String(8))
    to_lane: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text)
    officer: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class InspectionOutcome(Base):
    """What an inspection found; with the rules that had fired, it makes their hit rates."""

    __tablename__ = "inspection_outcomes"

    declaration_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    office: Mapped[str] = mapped_column(String(8), index=True)
    lane: Mapped[str] = mapped_column(String(8))
    found: Mapped[bool] = mapped_column(Boolean)
    findings: Mapped[str] = mapped_column(Text, default="")
    seized: Mapped[bool] = mapped_column(Boolean, default=False)
    # The ids of the rules that had fired on the decision inspected.
    rules_fired: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The lane random selection raised the decision to, if it did: what random checks
    # catch is the baseline a rule's hit rate is compared with.
    randomly_selected: Mapped[str | None] = mapped_column(String(8), nullable=True)
    officer: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
