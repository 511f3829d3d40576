"""Where document bytes live: the shared file stores (customs_shared.filestore), the
database one writing to this service's ``document_blobs``."""

from __future__ import annotations

from customs_shared import filestore
from customs_shared.filestore import DirectoryStore
from customs_shared.filestore import FileStore as DocumentStore
from declaration_svc.documents.models import DocumentBlob

__all__ = ["DatabaseStore", "DirectoryStore", "DocumentStore"]


class DatabaseStore(filestore.DatabaseStore):
    def __init__(self) -> None:
        super().__init__(DocumentBlob)
