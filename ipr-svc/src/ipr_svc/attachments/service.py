"""Files attached to an IPR application: checked, digested, stored (the database store
writes in the request's transaction: a request that breaks stores nothing), announced for
signature-svc, and the verdict it answers kept on the attachment."""

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
from customs_shared.events.schemas import (
    DeclarantKind,
    IprAttachmentAdded,
    IprAttachmentSignatureChecked,
)
from customs_shared.filestore import FileStore
from customs_shared.messaging.consumer import PermanentError
from customs_shared.messaging.outbox import add_event
from ipr_svc.applications.errors import ApplicationNotFound, WrongStatus
from ipr_svc.applications.models import IprApplication
from ipr_svc.applications.repository import ApplicationRepository
from ipr_svc.applications.schemas import IprApplicantKind
from ipr_svc.attachments.errors import (
    InvalidIprAttachmentSignature,
    IprAttachmentNotFound,
    IprAttachmentSignatureRequired,
)
from ipr_svc.attachments.models import IprAttachment
from ipr_svc.attachments.repository import AttachmentRepository
from ipr_svc.attachments.schemas import IprAttachmentType
from ipr_svc.holders import notices
from ipr_svc.records.service import SOURCE

ATTACHMENT_MAX_BYTES = uploads.FILE_MAX_BYTES
SIGNATURE_MAX_BYTES = uploads.SIGNATURE_MAX_BYTES
# A holder adds files while the application is reviewed, and to a renewal once approved.
OPEN_STATUSES = ("filed", "approved")
SIGNED_RULE = "enterprise-attachment-signed"


@dataclass(frozen=True, slots=True)
class Upload:
    attachment_type: IprAttachmentType
    filename: str
    content_type: str
    content: bytes
    signature: bytes | None


async def _application(
    session: AsyncSession, principal: Principal, application_id: uuid.UUID
) -> IprApplication:
    return await ApplicationRepository(session).get_visible_or_404(
        application_id, principal, ApplicationNotFound(f"No IPR application {application_id}.")
    )


def _enterprise(application: IprApplication) -> bool:
    return application.applicant_kind == IprApplicantKind.ENTERPRISE


async def attach(
    *,
    session: AsyncSession,
    principal: Principal,
    store: FileStore,
    application_id: uuid.UUID,
    upload: Upload,
) -> IprAttachment:
    application = await _application(session, principal, application_id)
    if application.status not in OPEN_STATUSES:
        raise WrongStatus(f"The application is {application.status}; it takes no more files.")
    if upload.signature is None and _enterprise(application):
        raise IprAttachmentSignatureRequired(
            f"Rule {SIGNED_RULE}: an enterprise signs each attachment with its registered "
            "certificate; send the detached signature (.p7s) as 'signature'.",
            rule=SIGNED_RULE,
        )
    signature = (
        None
        if upload.signature is None
        else uploads.signature_der(upload.signature, InvalidIprAttachmentSignature)
    )
    digest = hashlib.sha256(upload.content).hexdigest()
    now = utcnow()
    attachment_id = uuid.uuid4()
    await store.put(session, attachment_id.hex, upload.content)
    attachment = IprAttachment(
        id=attachment_id,
        application_id=application.id,
        tenant=application.applicant_tenant,
        attachment_type=upload.attachment_type.value,
        filename=upload.filename,
        content_type=upload.content_type,
        size=len(upload.content),
        sha256=digest,
        signature=signature,
        storage=store.name,
        storage_key=attachment_id.hex,
        uploaded_by=principal.subject,
        uploaded_at=now,
    )
    AttachmentRepository(session).add(attachment)
    enterprise = _enterprise(application)
    add_event(
        session,
        catalog.IPR_ATTACHMENT_ADDED,
        source=SOURCE,
        key=str(application.id),
        data=IprAttachmentAdded(
            application_id=application.id,
            attachment_id=attachment.id,
            tenant=application.applicant_tenant,
            applicant_kind=DeclarantKind.ENTERPRISE if enterprise else DeclarantKind.INDIVIDUAL,
            applicant_tax_code=application.applicant_tenant if enterprise else None,
            attachment_type=attachment.attachment_type,
            filename=attachment.filename,
            content_type=attachment.content_type,
            size=attachment.size,
            sha256=digest,
            signature=None if signature is None else base64.b64encode(signature).decode(),
            added_at=now,
        ),
    )
    await session.flush()
    return attachment


async def listing(
    *, session: AsyncSession, principal: Principal, application_id: uuid.UUID
) -> Sequence[IprAttachment]:
    await _application(session, principal, application_id)
    return await AttachmentRepository(session).of_application(application_id)


async def download(
    *,
    session: AsyncSession,
    principal: Principal,
    store: FileStore,
    application_id: uuid.UUID,
    attachment_id: uuid.UUID,
) -> tuple[IprAttachment, bytes]:
    await _application(session, principal, application_id)
    attachment = await AttachmentRepository(session).one(application_id, attachment_id)
    content = None if attachment is None else await store.get(session, attachment.storage_key)
    if attachment is None or content is None:
        raise IprAttachmentNotFound(
            f"No attachment {attachment_id} on application {application_id}."
        )
    return attachment, content


async def record_signature_check(
    session: AsyncSession, data: IprAttachmentSignatureChecked
) -> None:
    """signature-svc's verdict, kept on the attachment and told to the holder; one
    verdict per attachment, a re-sent one changes nothing."""
    attachment = await AttachmentRepository(session).one(
        data.application_id, data.attachment_id, for_update=True
    )
    application = await ApplicationRepository(session).by_id(data.application_id)
    if attachment is None or application is None:
        raise PermanentError(f"unknown attachment {data.attachment_id}")
    if attachment.signature_status is not None:
        return
    attachment.signature_status = data.status
    attachment.signature_report_id = data.report_id
    notices.attachment_checked(session, application, attachment)
