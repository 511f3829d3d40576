"""Documents on a real PostgreSQL: stored with their digest and event, the enterprise
signature rule, PEM signatures, the directory store, nothing kept on failure, and a retry
with its Idempotency-Key stored once."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import Role
from customs_shared.messaging.models import OutboxEvent
from declaration_svc.declarations import service as declarations
from declaration_svc.declarations.errors import IdempotencyKeyReused
from declaration_svc.declarations.schemas import DeclarationIn
from declaration_svc.documents import service, storage
from declaration_svc.documents.errors import (
    DocumentSignatureRequired,
    InvalidDocumentSignature,
)
from declaration_svc.documents.models import Document, DocumentBlob
from declaration_svc.documents.schemas import DocumentType
from declaration_svc.documents.storage import DatabaseStore, DirectoryStore, DocumentStore
from tests.support.factories import principal
from tests.support.samples import sample

pytestmark = pytest.mark.integration

BROKER = principal(Role.BROKER, "0312345673", "declarations:write", subject="demo-broker")
Sessions = async_sessionmaker[AsyncSession]
DER_SIGNATURE = b"\x30\x82\x01\x00" + b"\x01" * 16


async def declared(sessions: Sessions, name: str) -> uuid.UUID:
    async with sessions() as session, session.begin():
        result = await declarations.submit(
            session=session,
            principal=BROKER,
            body=DeclarationIn.model_validate(sample(name)),
            idempotency_key=None,
        )
    return result.declaration_id


def upload(content: bytes, signature: bytes | None) -> service.Upload:
    return service.Upload(
        DocumentType.INVOICE, "invoice.pdf", "application/pdf", content, signature
    )


async def attach(
    sessions: Sessions, declaration_id: uuid.UUID, data: service.Upload, store: DocumentStore
) -> Document:
    async with sessions() as session, session.begin():
        attached = await service.attach(
            session=session,
            principal=BROKER,
            store=store,
            declaration_id=declaration_id,
            upload=data,
        )
    return attached.document


async def test_a_signed_document_is_stored_with_its_digest_and_announced_without_its_bytes(
    sessions: Sessions,
) -> None:
    declaration_id = await declared(sessions, "declaration-enterprise")
    content = b"%PDF-1.7 body-marker-4711 " * 100
    document = await attach(
        sessions, declaration_id, upload(content, DER_SIGNATURE), DatabaseStore()
    )
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    async with sessions() as session:
        _, downloaded = await service.download(
            session=session,
            principal=BROKER,
            store=DatabaseStore(),
            declaration_id=declaration_id,
            document_id=document.id,
        )
        payload = await session.scalar(
            select(OutboxEvent.payload).order_by(OutboxEvent.seq.desc()).limit(1)
        )
    assert downloaded == content
    assert payload is not None
    event = json.loads(payload)
    assert event["type"] == "customs.document.attached.v1"
    assert event["data"]["sha256"] == document.sha256
    assert base64.b64decode(event["data"]["signature"]) == DER_SIGNATURE
    assert b"body-marker-4711" not in payload


async def test_an_enterprise_document_without_signature_is_refused_naming_the_rule(
    sessions: Sessions,
) -> None:
    declaration_id = await declared(sessions, "declaration-enterprise")
    with pytest.raises(DocumentSignatureRequired) as raised:
        await attach(sessions, declaration_id, upload(b"pdf", None), DatabaseStore())
    assert raised.value.extensions["rule"] == "enterprise-document-signed"
    individual = await declared(sessions, "declaration-individual")
    unsigned = await attach(sessions, individual, upload(b"pdf", None), DatabaseStore())
    assert not unsigned.signed


def test_pem_signatures_become_der_and_anything_else_is_refused() -> None:
    armoured = (
        b"-----BEGIN PKCS7-----\n" + base64.encodebytes(DER_SIGNATURE) + b"-----END PKCS7-----\n"
    )
    assert service.signature_der(armoured) == DER_SIGNATURE
    assert service.signature_der(DER_SIGNATURE) == DER_SIGNATURE
    with pytest.raises(InvalidDocumentSignature):
        service.signature_der(b"not a signature")


async def test_the_directory_store_keeps_the_bytes_as_files(
    sessions: Sessions, tmp_path: Path
) -> None:
    store = DirectoryStore(tmp_path)
    declaration_id = await declared(sessions, "declaration-individual")
    document = await attach(sessions, declaration_id, upload(b"packing list", None), store)
    assert (tmp_path / document.storage_key[:2] / document.storage_key).read_bytes() == (
        b"packing list"
    )
    assert document.storage == "directory"


async def test_a_failed_request_stores_nothing(sessions: Sessions) -> None:
    declaration_id = await declared(sessions, "declaration-individual")
    async with sessions() as session:
        await session.begin()
        await service.attach(
            session=session,
            principal=BROKER,
            store=DatabaseStore(),
            declaration_id=declaration_id,
            upload=upload(b"half", None),
        )
        await session.rollback()  # what the request does when anything after fails
    async with sessions() as session:
        documents = await session.scalar(select(func.count()).select_from(Document))
        blobs = await session.scalar(select(func.count()).select_from(DocumentBlob))
    assert (documents, blobs) == (0, 0)


async def test_a_failed_request_leaves_no_file_in_the_directory_store(
    sessions: Sessions, tmp_path: Path
) -> None:
    store = DirectoryStore(tmp_path)
    declaration_id = await declared(sessions, "declaration-individual")
    async with sessions() as session:
        await session.begin()
        attached = await service.attach(
            session=session,
            principal=BROKER,
            store=store,
            declaration_id=declaration_id,
            upload=upload(b"half", None),
        )
        document = attached.document
        written = tmp_path / document.storage_key[:2] / document.storage_key
        assert written.read_bytes() == b"half"  # the file first, then the row
        await session.rollback()
    await storage.discards_done()
    assert not written.exists()


async def test_the_sweep_deletes_files_no_row_names_and_stale_temporary_files(
    sessions: Sessions, tmp_path: Path
) -> None:
    store = DirectoryStore(tmp_path)
    declaration_id = await declared(sessions, "declaration-individual")
    kept = await attach(sessions, declaration_id, upload(b"kept", None), store)
    # What a process stopped between the write and the commit leaves behind.
    orphan = uuid.uuid4().hex
    (tmp_path / orphan[:2]).mkdir(exist_ok=True)
    (tmp_path / orphan[:2] / orphan).write_bytes(b"orphan")
    temporary = tmp_path / orphan[:2] / "tmpabc123"
    temporary.write_bytes(b"half-written")
    async with sessions() as session:
        assert await storage.sweep_orphans(session, store, timedelta(hours=1)) == 0  # too new
        assert await storage.sweep_orphans(session, store, timedelta(0)) == 1
    assert not (tmp_path / orphan[:2] / orphan).exists()
    assert not temporary.exists()
    assert (tmp_path / kept.storage_key[:2] / kept.storage_key).read_bytes() == b"kept"


async def test_an_upload_retried_with_its_key_stores_the_document_once(sessions: Sessions) -> None:
    """A broker whose upload timed out sends it again with the same Idempotency-Key: it gets
    the document the first request stored, and nothing is stored or announced twice. The key
    with another file, or a key that made a declaration, is a 422; a key is the tenant's."""
    declaration_id = await declared(sessions, "declaration-enterprise")
    signed = upload(b"%PDF-1.7 the invoice", DER_SIGNATURE)

    async def send(data: service.Upload, key: str) -> service.Attached:
        async with sessions() as session, session.begin():
            return await service.attach(
                session=session,
                principal=BROKER,
                store=DatabaseStore(),
                declaration_id=declaration_id,
                upload=data,
                idempotency_key=key,
            )

    first = await send(signed, "upload-1")
    again = await send(signed, "upload-1")
    other = await send(signed, "upload-2")  # another key: another document
    assert not first.replayed
    assert again.replayed
    assert again.document.id == first.document.id
    assert other.document.id != first.document.id
    with pytest.raises(IdempotencyKeyReused):
        await send(upload(b"%PDF-1.7 another invoice", DER_SIGNATURE), "upload-1")
    async with sessions() as session, session.begin():
        await declarations.submit(
            session=session,
            principal=BROKER,
            body=DeclarationIn.model_validate(sample("declaration-enterprise")),
            idempotency_key="made-a-declaration",
        )
    with pytest.raises(IdempotencyKeyReused):
        await send(signed, "made-a-declaration")
    async with sessions() as session:
        documents = await session.scalar(select(func.count()).select_from(Document))
        payloads = (await session.scalars(select(OutboxEvent.payload))).all()
    announced = [p for p in payloads if json.loads(p)["type"] == "customs.document.attached.v1"]
    assert (documents, len(announced)) == (2, 2)
