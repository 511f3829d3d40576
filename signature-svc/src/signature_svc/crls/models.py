from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from customs_shared.db import UtcDateTime, utcnow
from signature_svc.db import Base


class UploadedCrl(Base):
    """A CRL uploaded by an admin, kept once its signature checked out against its issuer;
    every replica loads the newest of each issuer."""

    __tablename__ = "uploaded_crls"

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    issuer: Mapped[str] = mapped_column(String(1000))
    issuer_sha256: Mapped[str] = mapped_column(String(64), index=True)
    crl_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    this_update: Mapped[datetime] = mapped_column(UtcDateTime())
    next_update: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    crl_der: Mapped[bytes] = mapped_column(LargeBinary())
    uploaded_by: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
