"""The two tables of notifications, defined once. A service that notifies lists
``NotificationsBase.metadata`` beside its own (its ``db.METADATA``) and creates them in one
of its migrations with :func:`create_notification_tables`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from customs_shared.db import UtcDateTime, new_metadata, utcnow
from customs_shared.notifications.visibility import transaction_id


class NotificationsBase(DeclarativeBase):
    metadata = new_metadata()


class Notification(NotificationsBase):
    """One change, as a tenant is told of it: pulled from the queue or pushed to its
    webhooks. They are handed out in (``xid``, ``seq``) order, and only once final (see
    visibility.py): ``seq`` alone is not commit order."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_tenant_xid_seq", "tenant", "xid", "seq"),
        Index("ix_notifications_xid_seq", "xid", "seq"),
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid(), unique=True, default=uuid.uuid4)
    tenant: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # The writing transaction (0 for rows from before the column, and on SQLite).
    xid: Mapped[int] = mapped_column(BigInteger(), default=transaction_id())


class WebhookSubscription(NotificationsBase):
    """Where a client wants its tenant's notifications pushed, and how far it got."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    client_id: Mapped[str] = mapped_column(String(128))
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    # The signing key (whsec_…), sealed (see sealing.py); shown to the client once.
    secret: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # The position (xid, seq) of the last notification delivered (or skipped as not
    # subscribed to).
    delivered_xid: Mapped[int] = mapped_column(BigInteger(), default=0)
    delivered_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    # Also the lease of the deliverer that claimed it (see service.deliver_due).
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
