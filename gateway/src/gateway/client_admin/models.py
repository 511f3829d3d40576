from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from customs_shared.db import UtcDateTime, utcnow
from gateway.db import Base


class RegisteredClient(Base):
    """An OAuth2 client the gateway issues tokens to. Every change bumps ``version``
    and ``updated_at``, which every replica polls to reload its registry."""

    __tablename__ = "oauth_clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(Text)
    # After a rotation the previous secret still works until this time (overlap).
    previous_secret_hash: Mapped[str | None] = mapped_column(Text, nullable=True)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime(), nullable=True
    )
    roles: Mapped[list[str]] = mapped_column(JSON)
    tenant: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    partner_event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    partner_event_source: Mapped[str | None] = mapped_column(String(500), nullable=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    rate_limit_per_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # private_key_jwt (RFC 7523): the public keys its assertions are signed with (a JWK Set).
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class UsedClientAssertion(Base):
    """A private_key_jwt assertion's jti, claimed once: a replay finds it. Rows past
    ``expires_at`` are pruned (the assertion could not be used any more anyway)."""

    __tablename__ = "used_client_assertions"
    __table_args__ = (Index("ix_used_client_assertions_expires", "expires_at"),)

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    jti: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
