"""Where document bytes live: the shared file stores (customs_shared.filestore), the
database one writing to this service's ``document_blobs``, S3 objects under
``declarations/<declaration id>/documents/``."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared import filestore
from customs_shared.filestore import DirectoryStore, discards_done
from customs_shared.filestore import FileStore as DocumentStore
from declaration_svc.documents.models import Document, DocumentBlob

__all__ = [
    "DatabaseStore",
    "DirectoryStore",
    "DocumentStore",
    "S3Store",
    "discards_done",
    "sweep_orphans",
]


class DatabaseStore(filestore.DatabaseStore):
    def __init__(self) -> None:
        super().__init__(DocumentBlob)


class S3Store(filestore.S3Store):
    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None,
        region: str,
        access_key_id: str | None,
        secret_access_key: str | None,
    ) -> None:
        super().__init__(
            prefix="declarations/",
            kind="documents",
            bucket=bucket,
            endpoint_url=endpoint_url,
            region=region,
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
        )


async def _named(session: AsyncSession, store: str, keys: list[str]) -> set[str]:
    statement = select(Document.storage_key).where(
        Document.storage == store, Document.storage_key.in_(keys)
    )
    return set((await session.scalars(statement)).all())


async def sweep_orphans(
    session: AsyncSession, store: filestore.DirectoryStore | filestore.S3Store, grace: timedelta
) -> int:
    """Deletes document bytes no document row names, older than ``grace``."""
    return await filestore.sweep_orphans(session, store, grace, _named)
