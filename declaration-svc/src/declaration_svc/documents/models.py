from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from customs_shared.filestore import BlobColumns, StoredFileColumns
from declaration_svc.db import Base


class Document(StoredFileColumns, Base):
    """A document attached to a declaration: what it is, its digest, its signature.
    The bytes live in the configured store under ``storage_key``."""

    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_declaration", "declaration_id", "uploaded_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    declaration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("declarations.id", ondelete="CASCADE")
    )
    tenant: Mapped[str] = mapped_column(String(64))
    declaration_version: Mapped[int] = mapped_column(Integer)
    document_type: Mapped[str] = mapped_column(String(32))


class DocumentBlob(BlobColumns, Base):
    """The bytes of a document when the database is the store (the default)."""

    __tablename__ = "document_blobs"
