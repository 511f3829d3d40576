from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, Numeric, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from customs_shared.db import UtcDateTime, utcnow
from declaration_svc.db import Base


class DeclarationStatus(StrEnum):
    RECEIVED = "RECEIVED"
    SCREENING = "SCREENING"
    LANE_GREEN = "LANE_GREEN"
    LANE_YELLOW = "LANE_YELLOW"
    LANE_RED = "LANE_RED"
    UNDER_INSPECTION = "UNDER_INSPECTION"
    RELEASED = "RELEASED"
    HELD = "HELD"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"
    AMENDED = "AMENDED"


MONEY = Numeric(20, 4)
RATE = Numeric(20, 6)


@dataclass(frozen=True, slots=True)
class DeclarantColumns:
    """The declarant's three columns, grouped as the API shows them."""

    kind: str
    name: str
    tax_code: str | None


class Declaration(Base):
    __tablename__ = "declarations"
    # Keyset pagination of a tenant's declarations, newest first.
    __table_args__ = (Index("ix_declarations_tenant_created", "tenant", "created_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    tenant: Mapped[str] = mapped_column(String(64))
    submitted_by: Mapped[str] = mapped_column(String(128))
    # Each amendment makes a new version; its number is the ETag an amendment must name.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    declarant_kind: Mapped[str] = mapped_column(String(16))
    declarant_tax_code: Mapped[str | None] = mapped_column(String(14), nullable=True)
    declarant_name: Mapped[str] = mapped_column(String(300))
    declaration_type: Mapped[str] = mapped_column(String(16))
    type_code: Mapped[str] = mapped_column(String(8))
    customs_office: Mapped[str] = mapped_column(String(8))
    currency: Mapped[str] = mapped_column(String(3))
    total_customs_value: Mapped[Decimal] = mapped_column(MONEY)
    # VND per unit of ``currency`` on the declaration date, and the total converted.
    exchange_rate: Mapped[Decimal | None] = mapped_column(RATE, nullable=True)
    total_customs_value_vnd: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    containers: Mapped[list[str]] = mapped_column(JSON, default=list)
    signature: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(24), default=DeclarationStatus.RECEIVED)
    lane: Mapped[str | None] = mapped_column(String(8), nullable=True)
    lane_reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    rule_set_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Routing's revision of this version's lane: a re-decision (intelligence, an officer's
    # override) comes with a higher one and replaces the lane; a lower or equal one is stale.
    lane_revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    signature_status: Mapped[str | None] = mapped_column(String(24), nullable=True)
    ipr_outcome: Mapped[str | None] = mapped_column(String(24), nullable=True)
    # IPR suspensions of release not yet lifted (suspended, less withdrawn or released at
    # the deadline): kept as they come, so a lane or a release knows without a query.
    ipr_suspensions_open: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The richer WCO-aligned parts, optional: stored as validated, shown as stored.
    broker: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    transport: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    countries: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    incoterm: Mapped[str | None] = mapped_column(String(3), nullable=True)
    invoice: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def declarant(self) -> DeclarantColumns:
        return DeclarantColumns(self.declarant_kind, self.declarant_name, self.declarant_tax_code)

    items: Mapped[list[DeclarationItem]] = relationship(
        back_populates="declaration",
        order_by="DeclarationItem.line",
        cascade="all, delete-orphan",
        lazy="raise",  # loaded explicitly where needed (async: no lazy IO)
    )
    timeline: Mapped[list[TimelineEntry]] = relationship(
        back_populates="declaration",
        order_by="TimelineEntry.id",
        cascade="all, delete-orphan",
        lazy="raise",  # loaded explicitly where needed (async: no lazy IO)
    )


class DeclarationItem(Base):
    __tablename__ = "declaration_items"

    declaration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("declarations.id", ondelete="CASCADE"), primary_key=True
    )
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    hs_code: Mapped[str] = mapped_column(String(12))
    description: Mapped[str] = mapped_column(String(500))
    origin_country: Mapped[str] = mapped_column(String(2))
    quantity: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    unit: Mapped[str] = mapped_column(String(16))
    customs_value: Mapped[Decimal] = mapped_column(MONEY)
    customs_value_vnd: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    brand: Mapped[str | None] = mapped_column(String(200), nullable=True)
    unit_price: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    preferential_origin: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    declaration: Mapped[Declaration] = relationship(back_populates="items")


class TimelineEntry(Base):
    __tablename__ = "declaration_timeline"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    declaration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("declarations.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # Who made the change: a client id, or the service whose event caused it.
    actor: Mapped[str | None] = mapped_column(String(128), nullable=True)
    from_status: Mapped[str | None] = mapped_column(String(24), nullable=True)
    status: Mapped[str] = mapped_column(String(24))
    event: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(String(1000))

    @property
    def to_status(self) -> str:
        return self.status

    declaration: Mapped[Declaration] = relationship(back_populates="timeline")


class IdempotencyKey(Base):
    """Remembers what a client's ``Idempotency-Key`` produced: a declaration (submitted),
    one of its versions (an amendment), or one of its documents (an upload)."""

    __tablename__ = "idempotency_keys"
    # The purge deletes by age.
    __table_args__ = (Index("ix_idempotency_keys_created", "created_at"),)

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    declaration_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    document_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class DeclarationVersion(Base):
    """A version an amendment replaced, as the API showed it then (lane included)."""

    __tablename__ = "declaration_versions"

    declaration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("declarations.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    replaced_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    replaced_by: Mapped[str] = mapped_column(String(128))
