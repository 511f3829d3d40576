"""Where uploaded files' bytes live, behind one small interface, for every service that
keeps files (declaration documents, IPR application attachments).

The database store (the default) writes in the request's transaction, so a request
that fails stores nothing. The directory store writes a temporary file and renames it
into place, so a file is either whole or absent; a transaction that then fails leaves
an unreferenced file behind, never a reference to a missing one."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase


class FileStore(Protocol):
    name: str

    async def put(self, session: AsyncSession, key: str, content: bytes) -> None: ...

    async def get(self, session: AsyncSession, key: str) -> bytes | None: ...


class DatabaseStore:
    """Bytes in the service's own blob table: a model with columns ``key`` (the primary
    key) and ``content``."""

    name = "database"

    def __init__(self, blob: type[DeclarativeBase]) -> None:
        self._blob = blob

    async def put(self, session: AsyncSession, key: str, content: bytes) -> None:
        session.add(self._blob(key=key, content=content))

    async def get(self, session: AsyncSession, key: str) -> bytes | None:
        columns = self._blob.__table__.c
        content: bytes | None = await session.scalar(
            select(columns.content).where(columns.key == key)
        )
        return content


class DirectoryStore:
    name = "directory"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        # Keys are made by the service (uuid hex), never by the caller.
        return self.root / key[:2] / key

    async def put(self, session: AsyncSession, key: str, content: bytes) -> None:
        await asyncio.to_thread(self._write, self._path(key), content)

    async def get(self, session: AsyncSession, key: str) -> bytes | None:
        path = self._path(key)
        return await asyncio.to_thread(path.read_bytes) if path.exists() else None

    @staticmethod
    def _write(path: Path, content: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        Path(file.name).replace(path)
