from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from customs_shared.filestore import BlobColumns, StoredFileColumns
from ipr_svc.db import Base


class IprAttachment(StoredFileColumns, Base):
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


class IprAttachmentBlob(BlobColumns, Base):
    """An attachment's bytes when the database is the store (the default)."""

    __tablename__ = "ipr_attachment_blobs"
