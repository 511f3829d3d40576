"""Tables every service carries for reliable messaging."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Uuid, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from customs_shared.db import UtcDateTime, new_metadata, utcnow


class MessagingBase(DeclarativeBase):
    """The tables every service carries besides its own: their one definition, which
    each service's migrations create and its schema check compares."""

    metadata = new_metadata()


class OutboxEvent(MessagingBase):
    """An event written in the same transaction as the change it reports."""

    __tablename__ = "outbox_events"
    __table_args__ = (
        # The relay reads only unpublished rows, in order.
        Index(
            "ix_outbox_events_unpublished",
            "seq",
            postgresql_where=text("published_at IS NULL"),
            sqlite_where=text("published_at IS NULL"),
        ),
    )

    # BIGINT on PostgreSQL; on SQLite an INTEGER primary key is the rowid alias.
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid(), unique=True)
    topic: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[bytes] = mapped_column(LargeBinary())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class ProcessedEvent(MessagingBase):
    """Event ids a consumer has handled, so a redelivery is a no-op."""

    __tablename__ = "processed_events"
    # The prune deletes by age.
    __table_args__ = (Index("ix_processed_events_processed_at", "processed_at"),)

    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
