from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Uuid, false, text
from sqlalchemy.orm import Mapped, mapped_column

from customs_shared.db import UtcDateTime, utcnow
from routing_svc.db import Base


class RoutingCase(Base):
    """What routing knows of a declaration while it waits for both screenings."""

    __tablename__ = "routing_cases"
    __table_args__ = (
        # The overdue sweep looks only at undecided cases, by deadline.
        Index(
            "ix_routing_cases_undecided",
            "deadline_at",
            postgresql_where=text("decided_at IS NULL"),
            sqlite_where=text("decided_at IS NULL"),
        ),
        # Intelligence re-decides recently decided cases: a range on decided_at.
        Index("ix_routing_cases_decided", "decided_at"),
    )

    declaration_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    # The declaration's version this case decides; an amendment starts the case anew.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    tenant: Mapped[str] = mapped_column(String(64))
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    signature_status: Mapped[str | None] = mapped_column(String(24), nullable=True)
    ipr_outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    ipr_hits: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The results as received (the events' data): passed on in the lane event, or
    # forwarded when no lane event of this version will carry them.
    signature_result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    ipr_result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    deadline_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # Released or rejected by an officer: nothing about it is decided again.
    closed_status: Mapped[str | None] = mapped_column(String(24), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # A right holder's suspension of release on one of its items is in force.
    ipr_suspended: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class LaneDecision(Base):
    """The current decision of a declaration (its newest version, newest revision)."""

    __tablename__ = "lane_decisions"
    __table_args__ = (Index("ix_lane_decisions_office_decided", "office", "decided_at"),)

    declaration_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    # The newest version's decision is the current one and replaces the earlier.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    lane: Mapped[str] = mapped_column(String(8))
    # Refused outright (routing's configured outcome of an invalid enterprise signature).
    rejected: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    rule_set_version: Mapped[str] = mapped_column(String(64))
    inputs: Mapped[dict[str, str]] = mapped_column(JSON)
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # 1 for the version's first decision; each later one (intelligence, an override) adds 1.
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    office: Mapped[str] = mapped_column(String(8), default="", server_default="")
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    score: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    screening_complete: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=text("true")
    )
    # The lane the rules gave, before any officer's override.
    rules_lane: Mapped[str] = mapped_column(String(8), default="", server_default="")
    randomly_selected: Mapped[str | None] = mapped_column(String(8), nullable=True)
    overridden: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    rule_errors: Mapped[list[dict[str, str]]] = mapped_column(
        JSON, default=list, server_default="[]"
    )
    # The rules' whole input (docs/routing-rules.md): a dry run replays it.
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
