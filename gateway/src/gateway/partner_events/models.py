from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from customs_shared.db import UtcDateTime
from gateway.db import Base


class PartnerEventRecord(Base):
    """A partner event the gateway accepted. The row is inserted first (its key, source
    and id, holds back a concurrent duplicate), the event is produced, and the row is
    committed only after Kafka acknowledged: a committed row means published."""

    __tablename__ = "partner_events"

    source: Mapped[str] = mapped_column(String(500), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    type: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the canonical event
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Set in the same transaction once Kafka acknowledged; the row is only committed then.
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    partition: Mapped[int | None] = mapped_column(Integer)
    offset: Mapped[int | None] = mapped_column(BigInteger)
    # What routing did with the event (customs.routing.partner-event-handled.v1), once known.
    routing: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
