from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from customs_shared.db import UtcDateTime, utcnow
from signature_svc.db import Base


class SignatureCheck(Base):
    """The outcome of checking one declaration's signature."""

    __tablename__ = "signature_checks"

    declaration_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    declarant_kind: Mapped[str] = mapped_column(String(16))
    declarant_tax_code: Mapped[str | None] = mapped_column(String(14), nullable=True)
    status: Mapped[str] = mapped_column(String(24))
    detail: Mapped[str] = mapped_column(String(1000))
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    indication: Mapped[str | None] = mapped_column(String(16), nullable=True)
    sub_indication: Mapped[str | None] = mapped_column(String(40), nullable=True)
    report_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), nullable=True)
