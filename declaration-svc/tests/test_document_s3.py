"""The S3 document store against a real S3-compatible HTTP server (moto's server mode on a
loopback port) and a real PostgreSQL: upload and download through the API with the digest
as ETag, the 3 MB limit, nothing kept when the transaction fails, and the sweep of
objects a stopped process left without a row."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
from moto.server import ThreadedMotoServer
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import Role
from customs_shared.services import DECLARATION
from customs_shared.settings import Role as ServiceRole
from declaration_svc.declarations import service as declarations
from declaration_svc.declarations.schemas import DeclarationIn
from declaration_svc.documents import service, storage
from declaration_svc.documents.api import router as documents_router
from declaration_svc.documents.models import Document
from declaration_svc.documents.schemas import DocumentType
from declaration_svc.documents.storage import S3Store
from declaration_svc.main import create_app
from declaration_svc.settings import DeclarationSettings
from tests.support import inprocess
from tests.support.factories import principal
from tests.support.ports import free_port
from tests.support.postgres import PostgresServer
from tests.support.samples import sample

pytestmark = pytest.mark.integration

Sessions = async_sessionmaker[AsyncSession]
BROKER = principal(
    Role.BROKER,
    "0312345673",
    "declarations:write",
    "declarations:read",
    subject="demo-broker",
)
BUCKET = "customs-documents"
ACCESS_KEY, SECRET_KEY = "test-access-key", "test-secret-key-never-logged"
MEGABYTE = 1_000_000  # the limit is stated in decimal (SI) megabytes


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """An S3-compatible server on a free loopback port, for this module."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
async def settings(s3_endpoint: str) -> AsyncIterator[DeclarationSettings]:
    """Settings of the s3 store, on a fresh bucket."""
    made = DeclarationSettings(
        document_storage="s3",
        document_s3_bucket=f"{BUCKET}-{uuid.uuid4().hex[:8]}",
        document_s3_endpoint_url=s3_endpoint,
        document_s3_region="us-east-1",
        document_s3_access_key_id=ACCESS_KEY,
        document_s3_secret_access_key=SECRET_KEY,
    )
    store = made.document_store()
    assert isinstance(store, S3Store)
    async with store.connected():  # as the service's lifespan does
        await store.client.create_bucket(Bucket=store.bucket)
        yield made


def s3(settings: DeclarationSettings) -> S3Store:
    store = settings.document_store()
    assert isinstance(store, S3Store)
    return store


async def objects(store: S3Store) -> list[str]:
    listed = await store.client.list_objects_v2(Bucket=store.bucket)
    return sorted(item["Key"] for item in listed.get("Contents", []))


async def declared(sessions: Sessions) -> uuid.UUID:
    async with sessions() as session, session.begin():
        result = await declarations.submit(
            session=session,
            principal=BROKER,
            body=DeclarationIn.model_validate(sample("declaration-individual")),
            idempotency_key=None,
        )
    return result.declaration_id


@pytest.fixture
async def api(sessions: Sessions, settings: DeclarationSettings) -> AsyncIterator[Any]:
    tokens = inprocess.Tokens()
    app = inprocess.service_app([documents_router])
    async with inprocess.client(app, sessions, tokens, settings) as client:
        yield inprocess.Caller(client, tokens, "/api/v1/declarations")


def form(content: bytes) -> dict[str, Any]:
    return {
        "files": {"file": ("invoice.pdf", content, "application/pdf")},
        "data": {"document_type": "invoice"},
    }


async def test_a_document_is_uploaded_to_the_bucket_and_downloaded_with_its_digest(
    sessions: Sessions, settings: DeclarationSettings, api: inprocess.Caller
) -> None:
    declaration_id = await declared(sessions)
    content = b"%PDF-1.7 commercial invoice " * 1000
    digest = hashlib.sha256(content).hexdigest()
    created = await api.call("POST", f"/{declaration_id}/documents", BROKER, **form(content))
    assert created.status_code == 201, created.text
    document = created.json()
    assert created.headers["etag"] == f'"{digest}"'
    key = f"declarations/{declaration_id}/documents/{document['id']}"
    assert await objects(s3(settings)) == [key]

    downloaded = await api.call("GET", f"/{declaration_id}/documents/{document['id']}", BROKER)
    assert downloaded.status_code == 200
    assert downloaded.content == content
    assert downloaded.headers["etag"] == f'"{digest}"'
    async with sessions() as session:
        row = await session.get(Document, uuid.UUID(document["id"]))
    assert row is not None
    assert (row.storage, row.storage_key, row.sha256) == ("s3", key, digest)


async def test_three_megabytes_are_taken_and_one_byte_more_is_refused_unstored(
    sessions: Sessions, settings: DeclarationSettings, api: inprocess.Caller
) -> None:
    declaration_id = await declared(sessions)
    url = f"/{declaration_id}/documents"
    too_large = await api.call("POST", url, BROKER, **form(b"x" * (3 * MEGABYTE + 1)))
    assert too_large.status_code == 413
    assert too_large.json()["type"].endswith("document-too-large")
    assert "split" in too_large.json()["detail"]
    assert await objects(s3(settings)) == []
    at_limit = await api.call("POST", url, BROKER, **form(b"x" * (3 * MEGABYTE)))
    assert at_limit.status_code == 201, at_limit.text
    assert len(await objects(s3(settings))) == 1


async def test_a_transaction_that_fails_after_the_upload_leaves_no_document_and_no_object(
    sessions: Sessions, settings: DeclarationSettings
) -> None:
    declaration_id = await declared(sessions)
    store = s3(settings)
    written: list[bytes | None] = []

    async def failing_request() -> None:
        async with sessions() as session, session.begin():
            document = (
                await service.attach(
                    session=session,
                    principal=BROKER,
                    store=store,
                    declaration_id=declaration_id,
                    upload=service.Upload(
                        DocumentType.INVOICE, "invoice.pdf", "application/pdf", b"half", None
                    ),
                )
            ).document
            written.append(await store.get(session, document.storage_key))
            raise RuntimeError("the request fails after the upload")

    with pytest.raises(RuntimeError, match="after the upload"):
        await failing_request()
    assert written == [b"half"]  # the object is written before the row...
    await storage.discards_done()
    # ...and deleted when the transaction does not commit.
    async with sessions() as session:
        rows = await session.scalar(
            select(func.count())
            .select_from(Document)
            .where(Document.declaration_id == declaration_id)
        )
    assert rows == 0
    assert await objects(store) == []


async def test_the_sweep_deletes_objects_no_row_names_and_keeps_documents(
    sessions: Sessions, settings: DeclarationSettings, api: inprocess.Caller
) -> None:
    declaration_id = await declared(sessions)
    store = s3(settings)
    kept = await api.call("POST", f"/{declaration_id}/documents", BROKER, **form(b"kept"))
    assert kept.status_code == 201
    # What a process stopped between the upload and the commit leaves behind.
    orphan = store.key(declaration_id, uuid.uuid4())
    await store.client.put_object(Bucket=store.bucket, Key=orphan, Body=b"orphan")
    async with sessions() as session:
        assert await storage.sweep_orphans(session, store, timedelta(hours=1)) == 0  # too new
        assert await storage.sweep_orphans(session, store, timedelta(0)) == 1
    assert await objects(store) == [store.key(declaration_id, uuid.UUID(kept.json()["id"]))]


def test_the_s3_store_needs_a_bucket_and_keeps_its_credentials_out_of_reprs() -> None:
    with pytest.raises(ValueError, match="DECLARATION_DOCUMENT_S3_BUCKET is required"):
        DeclarationSettings(document_storage="s3")
    with pytest.raises(ValueError, match="go together"):
        DeclarationSettings(
            document_storage="s3", document_s3_bucket=BUCKET, document_s3_access_key_id="a"
        )
    settings = DeclarationSettings(
        document_storage="s3",
        document_s3_bucket=BUCKET,
        document_s3_access_key_id=ACCESS_KEY,
        document_s3_secret_access_key=SECRET_KEY,
    )
    assert SECRET_KEY not in repr(settings)
    assert SECRET_KEY not in repr(settings.document_store())
    assert settings.document_store() is settings.document_store()


async def test_a_missing_object_reads_as_absent(
    sessions: Sessions, settings: DeclarationSettings
) -> None:
    store = s3(settings)
    async with sessions() as session:
        assert await store.get(session, store.key(uuid.uuid4(), uuid.uuid4())) is None


async def test_one_client_serves_every_operation(
    sessions: Sessions, settings: DeclarationSettings
) -> None:
    declaration_id = await declared(sessions)
    store = S3Store(
        bucket=settings.document_s3_bucket or "",  # made by the fixture
        endpoint_url=settings.document_s3_endpoint_url,
        region="us-east-1",
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
    )
    created: list[str] = []
    # botocore announces each client it builds: the count of clients the store made.
    store._session.register("creating-client-class.s3", lambda **_: created.append("s3"))
    async with store.connected():
        client = store.client
        keys = [store.key(declaration_id, uuid.uuid4()) for _ in range(3)]
        async with sessions() as session, session.begin():
            for n, key in enumerate(keys):
                await store.put(session, key, f"document {n}".encode())
            read = [await store.get(session, key) for key in keys]
        listed = await objects(store)
        await store.delete(keys[:1])
        assert store.client is client
    with pytest.raises(RuntimeError, match="not connected"):
        await store.get(AsyncSession(), keys[0])

    assert read == [b"document 0", b"document 1", b"document 2"]
    assert listed == sorted(keys)
    assert await objects(s3(settings)) == sorted(keys[1:])
    # Eight requests to the server, one client: one per operation would have made eight.
    assert created == ["s3"]


async def test_the_service_opens_the_client_at_start_and_closes_it_at_shutdown(
    postgres: PostgresServer, kafka_bootstrap: str, settings: DeclarationSettings
) -> None:
    served = DeclarationSettings(
        role=ServiceRole.API,  # an API-only process serves documents too
        database_url=SecretStr(postgres.url(DECLARATION.database or "")),
        kafka_bootstrap=kafka_bootstrap,
        document_storage="s3",
        document_s3_bucket=settings.document_s3_bucket,  # made by the fixture
        document_s3_endpoint_url=settings.document_s3_endpoint_url,
        document_s3_region="us-east-1",
        document_s3_access_key_id=ACCESS_KEY,
        document_s3_secret_access_key=SECRET_KEY,
    )
    store = s3(served)
    app = create_app(served)
    with pytest.raises(RuntimeError, match="not connected"):
        _ = store.client
    async with app.router.lifespan_context(app):
        client = store.client
        assert (await client.head_bucket(Bucket=store.bucket))["ResponseMetadata"][
            "HTTPStatusCode"
        ] == 200
    with pytest.raises(RuntimeError, match="not connected"):
        _ = store.client
