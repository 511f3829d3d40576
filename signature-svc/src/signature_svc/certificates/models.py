from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, LargeBinary, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from customs_shared.db import UtcDateTime, utcnow
from signature_svc.db import Base


class RegisteredCertificate(Base):
    """A signer certificate bound to an enterprise's tax code, by SHA-256 fingerprint."""

    __tablename__ = "registered_certificates"
    __table_args__ = (UniqueConstraint("tax_code", "fingerprint"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    # The enterprise's tax code is its tenant: the enterprise sees its own certificates.
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    tax_code: Mapped[str] = mapped_column(String(14), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(1000))
    issuer: Mapped[str] = mapped_column(String(1000))
    serial: Mapped[str] = mapped_column(String(64))
    not_before: Mapped[datetime] = mapped_column(UtcDateTime())
    not_after: Mapped[datetime] = mapped_column(UtcDateTime())
    certificate_der: Mapped[bytes] = mapped_column(LargeBinary())
    active: Mapped[bool] = mapped_column(Boolean(), default=True)
    registered_by: Mapped[str] = mapped_column(String(200))
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    deactivated_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
