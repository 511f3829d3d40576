from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile, status

from customs_shared import uploads
from customs_shared.app import service_runtime
from customs_shared.auth import RIGHT_HOLDERS, RIGHT_HOLDERS_AND_CUSTOMS, Principal, Scope, allow
from customs_shared.db import DbSession
from customs_shared.filestore import FileStore
from customs_shared.problems import Forbidden, PayloadTooLarge, Unauthorized, problem_responses
from ipr_svc.applications.errors import ApplicationNotFound, WrongStatus
from ipr_svc.attachments import service
from ipr_svc.attachments.errors import (
    InvalidIprAttachmentSignature,
    IprAttachmentNotFound,
    IprAttachmentSignatureRequired,
    IprAttachmentTooLarge,
)
from ipr_svc.attachments.schemas import IprAttachmentList, IprAttachmentOut, IprAttachmentType
from ipr_svc.settings import IprSettings

router = APIRouter(prefix="/api/v1/ipr/applications", tags=["ipr"])

Applicant = Annotated[Principal, allow(Scope.IPR_WRITE, RIGHT_HOLDERS)]
Reader = Annotated[Principal, allow(Scope.IPR_READ, RIGHT_HOLDERS_AND_CUSTOMS)]


async def _store(request: Request) -> FileStore:
    settings: IprSettings = service_runtime(request).settings
    return settings.attachment_store()


Store = Annotated[FileStore, Depends(_store)]


def _too_large(limit: int) -> IprAttachmentTooLarge:
    return IprAttachmentTooLarge(
        f"The part is over {limit} bytes ({limit / uploads.MEGABYTE:g} MB); split the file "
        "into parts of at most that size and attach each part.",
        max_bytes=limit,
    )


@router.post(
    "/{application_id}/attachments",
    status_code=status.HTTP_201_CREATED,
    response_model=IprAttachmentOut,
    responses=problem_responses(
        Unauthorized,
        Forbidden,
        ApplicationNotFound,
        WrongStatus,
        IprAttachmentTooLarge,
        IprAttachmentSignatureRequired,
        InvalidIprAttachmentSignature,
        PayloadTooLarge,
    ),
    summary="Attach a file (at most 3 MB) with its detached CMS signature (.p7s, DER or "
    "PEM; required of enterprise applicants).",
)
async def add_attachment(
    application_id: uuid.UUID,
    principal: Applicant,
    session: DbSession,
    store: Store,
    response: Response,
    file: Annotated[UploadFile, File(description="The file, at most 3 MB (3,000,000 bytes).")],
    attachment_type: Annotated[IprAttachmentType, Form()],
    signature: Annotated[
        UploadFile | None, File(description="Detached CMS signature of the file (.p7s).")
    ] = None,
) -> IprAttachmentOut:
    content = await uploads.read_at_most(file, service.ATTACHMENT_MAX_BYTES, _too_large)
    signature_bytes = (
        None
        if signature is None
        else await uploads.read_at_most(signature, service.SIGNATURE_MAX_BYTES, _too_large)
    )
    attachment = await service.attach(
        session=session,
        principal=principal,
        store=store,
        application_id=application_id,
        upload=service.Upload(
            attachment_type=attachment_type,
            filename=(file.filename or "attachment")[:255],
            content_type=(file.content_type or "application/octet-stream")[:127],
            content=content,
            signature=signature_bytes,
        ),
    )
    response.headers["Location"] = (
        f"/api/v1/ipr/applications/{application_id}/attachments/{attachment.id}"
    )
    response.headers["ETag"] = f'"{attachment.sha256}"'
    return IprAttachmentOut.model_validate(attachment)


@router.get(
    "/{application_id}/attachments",
    response_model=IprAttachmentList,
    responses=problem_responses(Unauthorized, Forbidden, ApplicationNotFound),
    summary="The files attached to an application, oldest first, with their signature verdicts.",
)
async def list_attachments(
    application_id: uuid.UUID, principal: Reader, session: DbSession
) -> IprAttachmentList:
    rows = await service.listing(
        session=session, principal=principal, application_id=application_id
    )
    return IprAttachmentList(items=[IprAttachmentOut.model_validate(r) for r in rows])


@router.get(
    "/{application_id}/attachments/{attachment_id}",
    response_class=Response,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "The bytes."},
        **problem_responses(Unauthorized, Forbidden, ApplicationNotFound, IprAttachmentNotFound),
    },
    summary="Download an attachment (the applicant, customs staff); its SHA-256 is the ETag.",
)
async def download_attachment(
    application_id: uuid.UUID,
    attachment_id: uuid.UUID,
    principal: Reader,
    session: DbSession,
    store: Store,
) -> Response:
    attachment, content = await service.download(
        session=session,
        principal=principal,
        store=store,
        application_id=application_id,
        attachment_id=attachment_id,
    )
    return Response(
        content,
        media_type=attachment.content_type,
        headers={
            "ETag": f'"{attachment.sha256}"',
            "Content-Disposition": f'attachment; filename="{attachment.id}"',
            "X-Content-Type-Options": "nosniff",
        },
    )
