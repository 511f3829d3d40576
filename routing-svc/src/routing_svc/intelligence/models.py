from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from customs_shared.db import UtcDateTime, utcnow
from routing_svc.db import Base


class RadiationAlarmRecord(Base):
    """A radiation portal monitor's alarm on a container, in force until ``valid_until``."""

    __tablename__ = "radiation_alarms"
    __table_args__ = (Index("ix_radiation_alarms_container", "container_number", "valid_until"),)

    event_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    container_number: Mapped[str] = mapped_column(String(16))
    valid_until: Mapped[datetime] = mapped_column(UtcDateTime())
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class OriginCertificateRecord(Base):
    """The newest state of an electronic certificate of origin (issued or revoked)."""

    __tablename__ = "origin_certificates"

    reference: Mapped[str] = mapped_column(String(200), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class RiskAlertRecord(Base):
    """Another administration's alert; its targets are matched per declaration."""

    __tablename__ = "risk_alerts"
    __table_args__ = (
        Index("ix_risk_alerts_validity", "valid_until"),
        # The sweep looks only at alerts still waiting for their window, by its start.
        Index(
            "ix_risk_alerts_waiting",
            "valid_from",
            postgresql_where=text("activated_at IS NULL"),
            sqlite_where=text("activated_at IS NULL"),
        ),
    )

    alert_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime())
    valid_until: Mapped[datetime] = mapped_column(UtcDateTime())
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # When the declarations it matches were re-decided: on arrival inside its window, or
    # when its window opened; NULL while it waits for ``valid_from``.
    activated_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class CaseContainer(Base):
    """Which declarations carry a container: an alarm finds them without scanning facts."""

    __tablename__ = "case_containers"

    container_number: Mapped[str] = mapped_column(String(16), primary_key=True)
    declaration_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
