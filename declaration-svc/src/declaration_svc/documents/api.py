from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile, status

from customs_shared import uploads
from customs_shared.app import service_runtime
from customs_shared.auth import TRADERS, TRADERS_AND_CUSTOMS, Principal, Scope, allow
from customs_shared.db import DbSession
from customs_shared.problems import Forbidden, PayloadTooLarge, Unauthorized, problem_responses
from declaration_svc.declarations.dependencies import IdempotencyKey
from declaration_svc.declarations.errors import (
    DeclarationNotFound,
    IdempotencyKeyReused,
    IdempotentRequestInFlight,
    IllegalTransition,
)
from declaration_svc.documents import service
from declaration_svc.documents.errors import (
    DocumentNotFound,
    DocumentSignatureRequired,
    DocumentTooLarge,
    InvalidDocumentSignature,
)
from declaration_svc.documents.schemas import DocumentOut, DocumentType
from declaration_svc.documents.storage import DocumentStore
from declaration_svc.settings import DeclarationSettings

router = APIRouter(prefix="/api/v1/declarations", tags=["documents"])

Submitter = Annotated[Principal, allow(Scope.DECLARATIONS_WRITE, TRADERS)]
Reader = Annotated[Principal, allow(Scope.DECLARATIONS_READ, TRADERS_AND_CUSTOMS)]


async def _store(request: Request) -> DocumentStore:
    settings: DeclarationSettings = service_runtime(request).settings
    return settings.document_store()


Store = Annotated[DocumentStore, Depends(_store)]


def _too_large(limit: int) -> DocumentTooLarge:
    return DocumentTooLarge(
        f"The part is over {limit} bytes ({limit / uploads.MEGABYTE:g} MB); split the "
        "document into parts of at most that size and attach each part as a document.",
        max_bytes=limit,
    )


@router.post(
    "/{declaration_id}/documents",
    status_code=status.HTTP_201_CREATED,
    response_model=DocumentOut,
    responses=problem_responses(
        Unauthorized,
        Forbidden,
        DeclarationNotFound,
        IllegalTransition,
        IdempotencyKeyReused,
        IdempotentRequestInFlight,
        DocumentTooLarge,
        DocumentSignatureRequired,
        InvalidDocumentSignature,
        PayloadTooLarge,
    ),
    summary="Attach a document (at most 3 MB) with its detached CMS signature (.p7s, DER "
    "or PEM; required of enterprises).",
)
async def attach_document(
    declaration_id: uuid.UUID,
    principal: Submitter,
    session: DbSession,
    store: Store,
    response: Response,
    file: Annotated[UploadFile, File(description="The document, at most 3 MB (3,000,000 bytes).")],
    document_type: Annotated[DocumentType, Form()],
    signature: Annotated[
        UploadFile | None, File(description="Detached CMS signature of the file (.p7s).")
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> DocumentOut:
    content = await uploads.read_at_most(file, service.DOCUMENT_MAX_BYTES, _too_large)
    signature_bytes = (
        None
        if signature is None
        else await uploads.read_at_most(signature, service.SIGNATURE_MAX_BYTES, _too_large)
    )
    attached = await service.attach(
        session=session,
        principal=principal,
        store=store,
        declaration_id=declaration_id,
        upload=service.Upload(
            document_type=document_type,
            filename=(file.filename or "document")[:255],
            content_type=(file.content_type or "application/octet-stream")[:127],
            content=content,
            signature=signature_bytes,
        ),
        idempotency_key=idempotency_key,
    )
    document = attached.document
    if attached.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    url = f"/api/v1/declarations/{declaration_id}/documents/{document.id}"
    response.headers["Location"] = url
    response.headers["ETag"] = f'"{document.sha256}"'
    return DocumentOut.model_validate(document)


@router.get(
    "/{declaration_id}/documents",
    response_model=list[DocumentOut],
    responses=problem_responses(Unauthorized, Forbidden, DeclarationNotFound),
    summary="The documents attached to a declaration.",
)
async def list_documents(
    declaration_id: uuid.UUID, principal: Reader, session: DbSession
) -> list[DocumentOut]:
    documents = await service.list_documents(
        session=session, principal=principal, declaration_id=declaration_id
    )
    return [DocumentOut.model_validate(d) for d in documents]


@router.get(
    "/{declaration_id}/documents/{document_id}",
    response_class=Response,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "The bytes."},
        **problem_responses(Unauthorized, Forbidden, DeclarationNotFound, DocumentNotFound),
    },
    summary="Download a document; its SHA-256 is the ETag.",
)
async def download_document(
    declaration_id: uuid.UUID,
    document_id: uuid.UUID,
    principal: Reader,
    session: DbSession,
    store: Store,
) -> Response:
    document, content = await service.download(
        session=session,
        principal=principal,
        store=store,
        declaration_id=declaration_id,
        document_id=document_id,
    )
    return Response(
        content,
        media_type=document.content_type,
        headers={
            "ETag": f'"{document.sha256}"',
            "Content-Disposition": f'attachment; filename="{document.id}"',
            "X-Content-Type-Options": "nosniff",
        },
    )
