"""Where uploaded files' bytes live, behind one small interface, for every service that
keeps files (declaration documents, IPR application attachments).

The database store (the default) writes in the request's transaction, so a request
that fails stores nothing. The directory and S3 stores write outside it, before the
file's row: a file or object is whole or absent, and a row never names a missing one.
When the transaction then does not commit, the bytes it wrote are deleted right after
(see :func:`_discard_uncommitted`); what a crash leaves between the write and the commit
is found by :func:`sweep_orphans` (bytes older than a grace period that no row names)
and deleted. Either way bytes without a row are never served: services read files
through their rows only."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.exceptions import ClientError
from sqlalchemy import Integer, LargeBinary, String, Uuid, event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, SessionTransaction, mapped_column

from customs_shared.db import UtcDateTime, utcnow

log = logging.getLogger(__name__)
_FILE_KEY = re.compile(r"[0-9a-f]{32}")


class StoredFileColumns:
    """The columns of an uploaded file's row, whatever it belongs to (a declaration's
    document, an IPR application's attachment): what it is, its digest, its detached
    signature and signature-svc's verdict on it; the bytes are in the store under
    ``storage_key``."""

    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    signature: Mapped[bytes | None] = mapped_column(LargeBinary(), nullable=True)
    storage: Mapped[str] = mapped_column(String(16))
    storage_key: Mapped[str] = mapped_column(String(255))
    uploaded_by: Mapped[str] = mapped_column(String(128))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # signature-svc's verdict on the signature, once it has checked it.
    signature_status: Mapped[str | None] = mapped_column(String(24), nullable=True)
    signature_report_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), nullable=True)

    @property
    def signed(self) -> bool:
        return self.signature is not None


class BlobColumns:
    """The columns of a table holding files' bytes for the database store."""

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary())


class FileStore(Protocol):
    name: str

    def key(self, owner_id: uuid.UUID, file_id: uuid.UUID) -> str: ...

    async def put(self, session: AsyncSession, key: str, content: bytes) -> None: ...

    async def get(self, session: AsyncSession, key: str) -> bytes | None: ...


class _Discarding(Protocol):
    async def delete(self, keys: Iterable[str]) -> None: ...


# --- Bytes written outside a transaction that did not commit ------------------------------

_UNCOMMITTED = "customs_shared.filestore.uncommitted"
_discards: set[asyncio.Task[None]] = set()


def _discard_uncommitted(session: AsyncSession, store: _Discarding, key: str) -> None:
    """Deletes ``key`` from ``store`` unless the session's transaction commits."""
    session.sync_session.info.setdefault(_UNCOMMITTED, []).append((store, key))


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info.pop(_UNCOMMITTED, None)


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return  # a savepoint: the outer transaction decides
    written: list[tuple[_Discarding, str]] | None = session.info.pop(_UNCOMMITTED, None)
    if not written:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no loop to delete from: the sweep will
        log.warning("uncommitted file bytes left for the sweep")
        return
    task = loop.create_task(_delete(written))
    _discards.add(task)
    task.add_done_callback(_discards.discard)


async def _delete(written: list[tuple[_Discarding, str]]) -> None:
    for store, key in written:
        try:
            await store.delete([key])
        except Exception:  # the sweep will retry
            log.exception("could not delete uncommitted file bytes", extra={"key": key})


async def discards_done() -> None:
    """Waits for the deletions of uncommitted bytes under way (tests, shutdown)."""
    while _discards:
        await asyncio.gather(*list(_discards), return_exceptions=True)


# --- The stores ---------------------------------------------------------------------------


class DatabaseStore:
    """Bytes in the service's own blob table: a model with columns ``key`` (the primary
    key) and ``content``."""

    name = "database"

    def __init__(self, blob: type[DeclarativeBase]) -> None:
        self._blob = blob

    def key(self, owner_id: uuid.UUID, file_id: uuid.UUID) -> str:
        return file_id.hex

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

    def key(self, owner_id: uuid.UUID, file_id: uuid.UUID) -> str:
        return file_id.hex

    def _path(self, key: str) -> Path:
        # Keys are made by the service (uuid hex), never by the caller.
        return self.root / key[:2] / key

    async def put(self, session: AsyncSession, key: str, content: bytes) -> None:
        await asyncio.to_thread(self._write, self._path(key), content)
        _discard_uncommitted(session, self, key)

    async def get(self, session: AsyncSession, key: str) -> bytes | None:
        path = self._path(key)
        return await asyncio.to_thread(path.read_bytes) if path.exists() else None

    async def delete(self, keys: Iterable[str]) -> None:
        for key in keys:
            await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    async def keys(self, older_than: datetime, limit: int) -> list[str]:
        """Up to ``limit`` stored files last written before ``older_than``; temporary
        files a stopped write left are removed on the way."""
        return await asyncio.to_thread(self._old_keys, older_than.timestamp(), limit)

    def _old_keys(self, before: float, limit: int) -> list[str]:
        found: list[str] = []
        if not self.root.is_dir():
            return found
        for path in self.root.glob("??/*"):
            if path.stat().st_mtime >= before:
                continue
            if _FILE_KEY.fullmatch(path.name) and path.parent.name == path.name[:2]:
                found.append(path.name)
                if len(found) >= limit:
                    break
            elif path.name.startswith("tmp"):
                path.unlink(missing_ok=True)
        return found

    @staticmethod
    def _write(path: Path, content: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        Path(file.name).replace(path)


class S3Store:
    """An S3-compatible object store (AWS S3, MinIO, Ceph RGW, …). Objects are keyed
    ``<prefix><owner id>/<kind>/<file id>`` (declaration-svc: ``declarations/<id>/
    documents/<id>``); the bucket exists beforehand. One client serves every operation
    (its connection pool, credentials and loaded service model with it): opened by
    :meth:`connected`, which the service enters in its lifespan, and closed when that ends."""

    name = "s3"

    def __init__(
        self,
        *,
        prefix: str,
        kind: str,
        bucket: str,
        endpoint_url: str | None,
        region: str,
        access_key_id: str | None,
        secret_access_key: str | None,
    ) -> None:
        self.prefix, self.kind = prefix, kind
        self.bucket = bucket
        self._session = AioSession()
        self._open: Any | None = None
        self._client_args: dict[str, Any] = {
            "region_name": region,
            "endpoint_url": endpoint_url,
            "aws_access_key_id": access_key_id,
            "aws_secret_access_key": secret_access_key,
            # Path-style addressing works with every S3-compatible server and any
            # bucket name; bounded retries so a dead store fails the request in time.
            "config": AioConfig(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=30,
            ),
        }

    def __repr__(self) -> str:  # the credentials stay out of logs and tracebacks
        return f"S3Store(bucket={self.bucket!r})"

    @contextlib.asynccontextmanager
    async def connected(self) -> AsyncIterator[None]:
        """Opens the store's client for the block; it is closed, with its connections,
        when the block ends."""
        if self._open is not None:
            raise RuntimeError(f"{self!r} is already connected")
        async with self._session.create_client("s3", **self._client_args) as client:
            self._open = client
            try:
                yield
            finally:
                await discards_done()  # deletions of uncommitted bytes need the client
                self._open = None

    @property
    def client(self) -> Any:
        """The open client (aiobotocore's S3 client)."""
        if self._open is None:
            raise RuntimeError(f"{self!r} is not connected: enter connected() first")
        return self._open

    def key(self, owner_id: uuid.UUID, file_id: uuid.UUID) -> str:
        return f"{self.prefix}{owner_id}/{self.kind}/{file_id}"

    async def put(self, session: AsyncSession, key: str, content: bytes) -> None:
        await self.client.put_object(Bucket=self.bucket, Key=key, Body=content)
        _discard_uncommitted(session, self, key)

    async def get(self, session: AsyncSession, key: str) -> bytes | None:
        try:
            response = await self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return None
            raise
        async with response["Body"] as body:
            content: bytes = await body.read()
            return content

    async def delete(self, keys: Iterable[str]) -> None:
        objects = [{"Key": key} for key in keys]
        for start in range(0, len(objects), 1000):  # the API's limit per request
            await self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": objects[start : start + 1000], "Quiet": True},
            )

    async def keys(self, older_than: datetime, limit: int) -> list[str]:
        """Up to ``limit`` stored objects last written before ``older_than``."""
        found: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                if item["LastModified"] < older_than:
                    found.append(item["Key"])
            if len(found) >= limit:
                break
        return found[:limit]


class _Sweepable(_Discarding, Protocol):
    name: str

    async def keys(self, older_than: datetime, limit: int) -> list[str]: ...


async def sweep_orphans(
    session: AsyncSession,
    store: _Sweepable,
    grace: timedelta,
    named: Callable[[AsyncSession, str, list[str]], Awaitable[set[str]]],
    limit: int = 1000,
) -> int:
    """Deletes the bytes older than ``grace`` that no row names (left by a process
    stopped between writing them and committing the row); returns how many. ``named``
    answers which of the keys rows of the store name."""
    candidates = await store.keys(utcnow() - grace, limit)
    if not candidates:
        return 0
    kept = await named(session, store.name, candidates)
    orphans = [key for key in candidates if key not in kept]
    if orphans:
        await store.delete(orphans)
        log.warning("orphan file bytes deleted", extra={"store": store.name, "count": len(orphans)})
    return len(orphans)
