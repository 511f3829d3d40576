"""All SQL of documents."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select

from customs_shared.repository import RepositoryBase
from declaration_svc.documents.models import Document


class DocumentRepository(RepositoryBase[Document]):
    model = Document

    async def of_declaration(self, declaration_id: uuid.UUID) -> Sequence[Document]:
        statement = (
            select(Document)
            .where(Document.declaration_id == declaration_id)
            .order_by(Document.uploaded_at, Document.id)
        )
        return (await self.session.scalars(statement)).all()

    async def one(self, declaration_id: uuid.UUID, document_id: uuid.UUID) -> Document | None:
        statement = select(Document).where(
            Document.id == document_id, Document.declaration_id == declaration_id
        )
        return (await self.session.scalars(statement)).one_or_none()
