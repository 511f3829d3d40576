from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from customs_shared.db import UtcDateTime, utcnow
from signature_svc.db import Base


class VerificationReport(Base):
    """A stored validation report: what was checked, against what, with what outcome."""

    __tablename__ = "verification_reports"

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    tax_code: Mapped[str | None] = mapped_column(String(14), nullable=True)
    declaration_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), nullable=True, index=True)
    indication: Mapped[str] = mapped_column(String(16))
    sub_indication: Mapped[str | None] = mapped_column(String(40), nullable=True)
    signer_fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)
    document_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
