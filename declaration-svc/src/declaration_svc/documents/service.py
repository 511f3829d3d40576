"""Documents attached to a declaration: checked, digested, stored, announced."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared import uploads
from customs_shared.auth import Principal
from customs_shared.db import utcnow
from customs_shared.events import catalog
from customs_shared.events.schemas import DeclarantKind, DocumentAttached, DocumentSignatureChecked
from customs_shared.messaging.consumer import PermanentError
from customs_shared.messaging.outbox import add_event
from declaration_svc.declarations import idempotency, lifecycle
from declaration_svc.declarations.errors import DeclarationNotFound
from declaration_svc.declarations.models import Declaration, DeclarationStatus
from declaration_svc.declarations.repository import DeclarationRepository
from declaration_svc.declarations.service import SOURCE
from declaration_svc.documents.errors import (
    DocumentNotFound,
    DocumentSignatureRequired,
    InvalidDocumentSignature,
)
from declaration_svc.documents.models import Document
from declaration_svc.documents.repository import DocumentRepository
from declaration_svc.documents.schemas import DocumentType
from declaration_svc.documents.storage import DocumentStore

DOCUMENT_MAX_BYTES = uploads.FILE_MAX_BYTES
SIGNATURE_MAX_BYTES = uploads.SIGNATURE_MAX_BYTES


@dataclass(frozen=True, slots=True)
class Upload:
    document_type: DocumentType
    filename: str
    content_type: str
    content: bytes
    signature: bytes | None


@dataclass(frozen=True, slots=True)
class Attached:
    """The document stored; ``replayed`` when a retry with the same Idempotency-Key found
    it stored by the first request (nothing was stored again)."""

    document: Document
    replayed: bool = False


def signature_der(raw: bytes) -> bytes:
    """A detached CMS signature as DER, from DER or PEM (PKCS7 / CMS armour)."""
    return uploads.signature_der(raw, InvalidDocumentSignature)


async def _declaration(
    session: AsyncSession, principal: Principal, declaration_id: uuid.UUID
) -> Declaration:
    return await DeclarationRepository(session).get_visible_or_404(
        declaration_id, principal, DeclarationNotFound(f"No declaration {declaration_id}.")
    )


async def attach(
    *,
    session: AsyncSession,
    principal: Principal,
    store: DocumentStore,
    declaration_id: uuid.UUID,
    upload: Upload,
    idempotency_key: str | None = None,
) -> Attached:
    declaration = await _declaration(session, principal, declaration_id)
    document_id = uuid.uuid4()
    digest = hashlib.sha256(upload.content).hexdigest()
    if idempotency_key is not None:
        bound_to = idempotency.request_hash(
            "document",
            str(declaration.id),
            upload.document_type,
            digest,
            hashlib.sha256(upload.signature or b"").hexdigest(),
        )
        stored = await idempotency.claim(
            session,
            principal,
            idempotency_key,
            bound_to,
            declaration_id=declaration.id,
            document_id=document_id,
        )
        if stored is not None and stored.document_id is not None:
            first = await DocumentRepository(session).one(declaration.id, stored.document_id)
            if first is not None:
                return Attached(first, replayed=True)
    if declaration.status in lifecycle.FINAL:
        status = DeclarationStatus(declaration.status)
        lifecycle.refuse(declaration, status, action="given documents")
    if upload.signature is None and declaration.declarant_kind == DeclarantKind.ENTERPRISE:
        raise DocumentSignatureRequired(
            "Rule enterprise-document-signed: an enterprise signs each document with its "
            "registered certificate; attach the detached signature (.p7s) as 'signature'.",
            rule="enterprise-document-signed",
        )
    signature = None if upload.signature is None else signature_der(upload.signature)
    now = utcnow()
    key = store.key(declaration.id, document_id)
    # The bytes first, then the row: a row never names missing bytes (see storage.py).
    await store.put(session, key, upload.content)
    document = Document(
        id=document_id,
        declaration_id=declaration.id,
        tenant=declaration.tenant,
        declaration_version=declaration.version,
        document_type=upload.document_type,
        filename=upload.filename,
        content_type=upload.content_type,
        size=len(upload.content),
        sha256=digest,
        signature=signature,
        storage=store.name,
        storage_key=key,
        uploaded_by=principal.subject,
        uploaded_at=now,
    )
    DocumentRepository(session).add(document)
    lifecycle.record(
        session,
        declaration,
        "document_attached",
        f"{upload.document_type} {upload.filename!r} ({len(upload.content)} bytes, "
        f"SHA-256 {digest}){', signed' if signature else ''}.",
        actor=principal.subject,
    )
    add_event(
        session,
        catalog.DOCUMENT_ATTACHED,
        source=SOURCE,
        key=str(declaration.id),
        data=DocumentAttached(
            declaration_id=declaration.id,
            document_id=document_id,
            declaration_version=declaration.version,
            tenant=declaration.tenant,
            declarant_kind=DeclarantKind(declaration.declarant_kind),
            declarant_tax_code=declaration.declarant_tax_code,
            document_type=upload.document_type,
            filename=upload.filename,
            content_type=upload.content_type,
            size=len(upload.content),
            sha256=digest,
            signature=None if signature is None else base64.b64encode(signature).decode(),
            attached_at=now,
        ),
    )
    return Attached(document)


async def list_documents(
    *, session: AsyncSession, principal: Principal, declaration_id: uuid.UUID
) -> Sequence[Document]:
    await _declaration(session, principal, declaration_id)
    return await DocumentRepository(session).of_declaration(declaration_id)


async def download(
    *,
    session: AsyncSession,
    principal: Principal,
    store: DocumentStore,
    declaration_id: uuid.UUID,
    document_id: uuid.UUID,
) -> tuple[Document, bytes]:
    await _declaration(session, principal, declaration_id)
    document = await DocumentRepository(session).one(declaration_id, document_id)
    content = None if document is None else await store.get(session, document.storage_key)
    if document is None or content is None:
        raise DocumentNotFound(f"No document {document_id} on declaration {declaration_id}.")
    return document, content


async def record_signature_check(session: AsyncSession, data: DocumentSignatureChecked) -> None:
    """signature-svc's verdict on a document's signature: kept on the document, and told in
    the declaration's timeline (and so to the broker)."""
    document = await DocumentRepository(session).one(data.declaration_id, data.document_id)
    declaration = await DeclarationRepository(session).get_for_update(data.declaration_id)
    if document is None or declaration is None:
        raise PermanentError(f"unknown document {data.document_id}")
    if document.signature_status is not None:
        return  # one verdict per document; a re-sent one changes nothing
    document.signature_status = data.status
    document.signature_report_id = data.report_id
    lifecycle.record(
        session,
        declaration,
        "document_signature_checked",
        f"{document.document_type} {document.filename}: {data.status}: {data.detail}",
        actor="signature-svc",
    )
