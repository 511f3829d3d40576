"""What right holders are told, each queued in the transaction of the change: a suspension
of release on one of their rights and each step of it, and every decision on their
applications. Types are ``ipr.<event>``."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.notifications.service import notify
from ipr_svc.applications.models import IprApplication
from ipr_svc.attachments.models import IprAttachment
from ipr_svc.suspension.models import IprSuspension


def _suspension_event(suspension: IprSuspension) -> str:
    if suspension.status == "suspended":
        return "suspension_extended" if suspension.extended else "suspension_opened"
    return f"suspension_{suspension.status}"  # confirmed, withdrawn or released


def suspension_changed(session: AsyncSession, suspension: IprSuspension) -> None:
    notify(
        session,
        tenant=suspension.holder_tenant,
        type=f"ipr.{_suspension_event(suspension)}",
        data={
            "suspension_id": str(suspension.id),
            "declaration_id": str(suspension.declaration_id),
            "item_line": suspension.item_line,
            "record_id": suspension.record_id,
            "status": suspension.status,
            "deadline": suspension.deadline.isoformat(),
            "extended": suspension.extended,
            "reason": suspension.reason,
        },
    )


def application_decided(
    session: AsyncSession,
    application: IprApplication,
    action: str,
    reason: str,
    valid: tuple[date, date] | None,
) -> None:
    """``action``: approve, reject, revoke, renewal-filed or extend."""
    notify(
        session,
        tenant=application.applicant_tenant,
        type=f"ipr.application_{action.replace('-', '_')}",
        data={
            "application_id": str(application.id),
            "registration_number": application.registration_number,
            "status": application.status,
            "reason": reason,
            "valid_from": valid[0].isoformat() if valid else None,
            "valid_until": valid[1].isoformat() if valid else None,
        },
    )


def attachment_checked(
    session: AsyncSession, application: IprApplication, attachment: IprAttachment
) -> None:
    """signature-svc's verdict on an attachment's signature."""
    notify(
        session,
        tenant=application.applicant_tenant,
        type="ipr.attachment_signature_checked",
        data={
            "application_id": str(application.id),
            "attachment_id": str(attachment.id),
            "attachment_type": attachment.attachment_type,
            "filename": attachment.filename,
            "signature_status": attachment.signature_status,
            "signature_report_id": (
                None
                if attachment.signature_report_id is None
                else str(attachment.signature_report_id)
            ),
        },
    )
