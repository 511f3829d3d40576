from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from customs_shared.db import UtcDateTime, utcnow
from declaration_svc.db import Base


class Receipt(Base):
    """The signed receipt given for a declaration's version when it was accepted."""

    __tablename__ = "receipts"

    declaration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("declarations.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    jws: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
