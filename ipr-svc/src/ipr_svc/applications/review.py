"""Officer review of applications: completeness gaps, approval into a record, rejection,
revocation. Each decision is audited; a record's every change goes to the compacted topic."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.app import Runtime
from customs_shared.auth import Principal
from customs_shared.db import utcnow
from customs_shared.events import catalog
from customs_shared.events.schemas import SignatureStatus
from customs_shared.messaging.outbox import add_event
from customs_shared.problems import InvalidCursor
from ipr_svc.applications.errors import ApplicationNotFound, RenewalTooLate, WrongStatus
from ipr_svc.applications.models import IprApplication, IprDecision
from ipr_svc.applications.repository import (
    RENEWAL_FILED,
    ApplicationRepository,
    DecisionRepository,
)
from ipr_svc.attachments.models import IprAttachment
from ipr_svc.attachments.repository import AttachmentRepository
from ipr_svc.holders import notices
from ipr_svc.records.repository import RecordRepository
from ipr_svc.records.service import SOURCE, state
from ipr_svc.screening.models import IprRecord

POWER_OF_ATTORNEY = "power-of-attorney"


def gaps(application: IprApplication, attachments: Sequence[IprAttachment]) -> list[str]:
    """What the applicant must still give before customs can act (the EU's AFA as the
    reference for completeness), given the files attached so far."""
    found: list[str] = []
    for n, goods in enumerate(application.goods, start=1):
        if not str(goods.get("distinguishing_features", "")).strip():
            found.append(f"goods[{n}]: distinguishing features of the genuine goods")
    if not application.notification_url:
        found.append("notification_url: where customs notifies suspensions")
    if not application.contact.get("phone"):
        found.append("contact.phone: a number reachable during a suspension")
    if not application.suspected_infringers and not application.authorised_importers:
        found.append("authorised importers or suspected infringers: at least one party")
    if application.representative and all(
        a.attachment_type != POWER_OF_ATTORNEY for a in attachments
    ):
        found.append(
            f"attachments: the representative's power of attorney (type {POWER_OF_ATTORNEY})"
        )
    # An invalid signature is the applicant's to mend; an indeterminate one (no current
    # CRL, say) is customs' to check again, not a gap.
    found.extend(
        f"attachments: {a.filename} ({a.attachment_type}): the signature is invalid; attach "
        "it again, signed with the registered certificate"
        for a in attachments
        if a.signature_status == SignatureStatus.INVALID
    )
    return found


async def completeness(session: AsyncSession, application: IprApplication) -> list[str]:
    return gaps(application, await AttachmentRepository(session).of_application(application.id))


async def decisions(
    *, session: AsyncSession, principal: Principal, application_id: uuid.UUID
) -> Sequence[IprDecision]:
    """An application's audit trail: the applicant's own, or any for customs staff."""
    await ApplicationRepository(session).get_visible_or_404(
        application_id, principal, ApplicationNotFound(f"No IPR application {application_id}.")
    )
    return await DecisionRepository(session).of_application(application_id)


async def renewal_queue(
    *, session: AsyncSession, after: uuid.UUID | None, limit: int
) -> tuple[Sequence[tuple[IprDecision, IprApplication]], uuid.UUID | None]:
    """Renewals awaiting an officer, oldest first; the id to pass as ``after`` for the
    next page (none on the last)."""
    repository = DecisionRepository(session)
    position = None
    if after is not None:
        position = await repository.by_id(after)
        if position is None or position.action != RENEWAL_FILED:
            raise InvalidCursor("Use the next_after of a previous page of the renewal queue.")
    rows = await repository.pending_renewals(after=position, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1][0].id if more else None)


def _audit(
    session: AsyncSession,
    application: IprApplication,
    principal: Principal,
    action: str,
    reason: str,
    valid: tuple[date, date] | None = None,
) -> None:
    session.add(
        IprDecision(
            application_id=application.id,
            action=action,
            actor=principal.subject,
            reason=reason,
            valid_from=valid[0] if valid else None,
            valid_until=valid[1] if valid else None,
            decided_at=utcnow(),
        )
    )
    notices.application_decided(session, application, action, reason, valid)


async def _application(
    session: AsyncSession, principal: Principal, application_id: uuid.UUID, *expected: str
) -> IprApplication:
    application = await ApplicationRepository(session).get_visible_or_404(
        application_id, principal, ApplicationNotFound(f"No IPR application {application_id}.")
    )
    if application.status not in expected:
        raise WrongStatus(f"The application is {application.status}; expected {expected}.")
    return application


def _at(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


async def approve(
    *,
    session: AsyncSession,
    principal: Principal,
    application_id: uuid.UUID,
    valid_from: date,
    valid_until: date,
    reason: str,
) -> IprRecord:
    """The application becomes an active record, valid no longer than the right's term."""
    application = await _application(session, principal, application_id, "filed")
    valid_until = min(valid_until, application.right_valid_until)
    if valid_until <= valid_from:
        raise WrongStatus("The validity ends before it starts (or past the right's term).")
    values = {
        "right_type": application.right_type,
        "owner": application.owner,
        "holder_tenant": application.applicant_tenant,
        "brands": list(dict.fromkeys(b for g in application.goods for b in g["brands"])),
        "hs_headings": list(dict.fromkeys(h for g in application.goods for h in g["hs_headings"])),
        "authorised_importers": list(application.authorised_importers),
        "offices": list(application.offices),
        "valid_from": _at(valid_from),
        "valid_until": _at(valid_until),
        "status": "active",
        "source": "application",
        "updated_at": utcnow(),
    }
    records = RecordRepository(session)
    record = (await records.by_registration_numbers([application.registration_number])).get(
        application.registration_number
    )
    if record is None:
        record = IprRecord(registration_number=application.registration_number, **values)
        records.add(record)
    else:
        for name, value in values.items():
            setattr(record, name, value)
    await session.flush()
    application.status = "approved"
    application.valid_from, application.valid_until = valid_from, valid_until
    _audit(session, application, principal, "approve", reason, (valid_from, valid_until))
    add_event(
        session, catalog.IPR_RECORD_CHANGED, source=SOURCE, key=str(record.id), data=state(record)
    )
    return record


async def reject(
    *, session: AsyncSession, principal: Principal, application_id: uuid.UUID, reason: str
) -> IprApplication:
    application = await _application(session, principal, application_id, "filed")
    application.status = "rejected"
    _audit(session, application, principal, "reject", reason)
    return application


async def revoke(
    *, session: AsyncSession, principal: Principal, application_id: uuid.UUID, reason: str
) -> IprApplication:
    """The record stops being screened against: every replica drops it."""
    application = await _application(session, principal, application_id, "approved")
    application.status = "revoked"
    records = RecordRepository(session)
    record = (await records.by_registration_numbers([application.registration_number])).get(
        application.registration_number
    )
    if record is not None:
        record.status = "revoked"
        record.updated_at = utcnow()
        add_event(
            session,
            catalog.IPR_RECORD_CHANGED,
            source=SOURCE,
            key=str(record.id),
            data=state(record),
        )
    _audit(session, application, principal, "revoke", reason)
    return application


RENEWAL_NOTICE_DAYS = 20  # a renewal is filed at least this long before expiry


async def file_renewal(
    *,
    session: AsyncSession,
    principal: Principal,
    application_id: uuid.UUID,
    valid_until: date,
    today: date | None = None,
) -> IprApplication:
    """The holder asks to extend an approved application; an officer decides on it."""
    today = today or utcnow().date()
    application = await _application(session, principal, application_id, "approved")
    if (application.valid_until - today).days < RENEWAL_NOTICE_DAYS:
        raise RenewalTooLate(
            f"A renewal is filed at least {RENEWAL_NOTICE_DAYS} days before the validity "
            f"ends ({application.valid_until})."
        )
    if valid_until <= application.valid_until:
        raise WrongStatus("A renewal extends the validity past its current end.")
    _audit(
        session, application, principal, RENEWAL_FILED, "", (application.valid_from, valid_until)
    )
    return application


async def extend(
    *,
    session: AsyncSession,
    principal: Principal,
    application_id: uuid.UUID,
    valid_until: date,
    reason: str,
) -> IprApplication:
    """The officer's extension: the record's validity moves on, never past the term."""
    application = await _application(session, principal, application_id, "approved")
    valid_until = min(valid_until, application.right_valid_until)
    if valid_until <= application.valid_until:
        raise WrongStatus("The extension ends no later than the current validity.")
    application.valid_until = valid_until
    records = RecordRepository(session)
    record = (await records.by_registration_numbers([application.registration_number])).get(
        application.registration_number
    )
    if record is not None:
        record.valid_until = _at(valid_until)
        record.updated_at = utcnow()
        add_event(
            session,
            catalog.IPR_RECORD_CHANGED,
            source=SOURCE,
            key=str(record.id),
            data=state(record),
        )
    _audit(session, application, principal, "extend", reason, (application.valid_from, valid_until))
    return application


async def expire_records(session: AsyncSession, _runtime: Runtime[Any]) -> int:
    """Periodic: active records past their validity become expired, and say so on the
    compacted topic, so every replica drops them."""
    now = utcnow()
    expired = await RecordRepository(session).lapsed(now)
    for record in expired:
        record.status = "expired"
        record.updated_at = now
        add_event(
            session,
            catalog.IPR_RECORD_CHANGED,
            source=SOURCE,
            key=str(record.id),
            data=state(record),
        )
    return len(expired)
