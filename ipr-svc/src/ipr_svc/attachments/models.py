from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from customs_shared.db import UtcDateTime, utcnow
from ipr_svc.db import Base


class IprAttachment(Base):
    """A file attached to an application: what it is, its digest, its signature and
    signature-svc's verdict on it. The bytes live in the configured store under
    ``storage_key``."""

    __tablename__ = "ipr_attachments"
    __table_args__ = (Index("ix_ipr_attachments_application", "application_id", "uploaded_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ipr_applications.id", ondelete="CASCADE")
    )
    tenant: Mapped[str] = mapped_column(String(64))
    attachment_type: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    signature: Mapped[bytes | None] = mapped_column(LargeBinary(), nullable=True)
    storage: Mapped[str] = mapped_column(String(16))
    storage_key: Mapped[str] = mapped_column(String(255))
    uploaded_by: Mapped[str] = mapped_column(String(128))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    signature_status: Mapped[str | None] = mapped_column(String(24), nullable=True)
    signature_report_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), nullable=True)

    @property
    def signed(self) -> bool:
        return self.signature is not None


class IprAttachmentBlob(Base):
    """An attachment's bytes when the database is the store (the default)."""

    __tablename__ = "ipr_attachment_blobs"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary())
