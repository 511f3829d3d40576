"""Suspension of clearance on a hit: an officer suspends, may extend once, the holder
confirms (goods held) or withdraws (release); no answer by the deadline releases."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.app import Runtime
from customs_shared.auth import Principal
from customs_shared.db import utcnow
from customs_shared.events import catalog
from customs_shared.events.schemas import IprSuspensionChanged
from customs_shared.messaging.outbox import add_event
from customs_shared.repository import Page
from ipr_svc.holders import notices
from ipr_svc.records.repository import RecordRepository
from ipr_svc.screening.models import IprScreening
from ipr_svc.suspension.deadlines import deadline
from ipr_svc.suspension.errors import HitNotFound, SuspensionClosed, SuspensionNotFound
from ipr_svc.suspension.models import IprSuspension
from ipr_svc.suspension.repository import SuspensionRepository

SOURCE = "/customs/ipr-svc"


def _publish(session: AsyncSession, suspension: IprSuspension) -> None:
    notices.suspension_changed(session, suspension)
    add_event(
        session,
        catalog.IPR_SUSPENSION_CHANGED,
        source=SOURCE,
        key=str(suspension.declaration_id),
        data=IprSuspensionChanged(
            suspension_id=suspension.id,
            declaration_id=suspension.declaration_id,
            item_line=suspension.item_line,
            record_id=suspension.record_id,
            status=suspension.status,
            deadline=suspension.deadline,
            extended=suspension.extended,
            reason=suspension.reason,
        ),
    )


async def suspend(
    *,
    session: AsyncSession,
    principal: Principal,
    declaration_id: uuid.UUID,
    record_id: str,
    item_line: int,
    reason: str,
    closed: Collection[date] = (),
    today: date | None = None,
) -> IprSuspension:
    today = today or utcnow().date()
    screening = await session.get(IprScreening, declaration_id)
    hit = screening is not None and any(
        h["record_id"] == record_id and h["item_line"] == item_line for h in screening.hits
    )
    record = None
    if hit:
        record = await RecordRepository(session).get_visible(uuid.UUID(record_id), principal)
    if record is None:
        raise HitNotFound(
            f"Declaration {declaration_id} has no hit of {record_id} on line {item_line}."
        )
    suspension = IprSuspension(
        declaration_id=declaration_id,
        item_line=item_line,
        record_id=record_id,
        holder_tenant=record.holder_tenant,
        status="suspended",
        suspended_by=principal.subject,
        reason=reason,
        suspended_on=today,
        deadline=deadline(today, extended=False, closed=closed),
        extended=False,
        updated_at=utcnow(),
    )
    SuspensionRepository(session).add(suspension)
    await session.flush()
    _publish(session, suspension)
    return suspension


async def _open(
    session: AsyncSession, principal: Principal, suspension_id: uuid.UUID
) -> IprSuspension:
    suspension = await SuspensionRepository(session).get_visible_or_404(
        suspension_id, principal, SuspensionNotFound(f"No IPR suspension {suspension_id}.")
    )
    if suspension.status != "suspended":
        raise SuspensionClosed(f"The suspension is {suspension.status}.")
    return suspension


async def extend(
    *,
    session: AsyncSession,
    principal: Principal,
    suspension_id: uuid.UUID,
    closed: Collection[date] = (),
) -> IprSuspension:
    """Once: the deadline becomes 20 working days from the suspension."""
    suspension = await _open(session, principal, suspension_id)
    if suspension.extended:
        raise SuspensionClosed("A suspension is extended once only.")
    suspension.extended = True
    suspension.deadline = deadline(suspension.suspended_on, extended=True, closed=closed)
    suspension.updated_at = utcnow()
    _publish(session, suspension)
    return suspension


async def answer(
    *, session: AsyncSession, principal: Principal, suspension_id: uuid.UUID, confirm: bool
) -> IprSuspension:
    """The holder's answer: infringement confirmed (goods held) or withdrawn (release)."""
    suspension = await _open(session, principal, suspension_id)
    suspension.status = "confirmed" if confirm else "withdrawn"
    suspension.updated_at = utcnow()
    _publish(session, suspension)
    return suspension


async def listing(
    *,
    session: AsyncSession,
    principal: Principal,
    limit: int,
    after: uuid.UUID | None = None,
) -> Page[IprSuspension]:
    return await SuspensionRepository(session).page_visible(principal, after=after, limit=limit)


async def release_lapsed(
    session: AsyncSession, _runtime: Runtime[Any], today: date | None = None
) -> int:
    """Periodic: no answer by the deadline releases the goods."""
    lapsed = await SuspensionRepository(session).lapsed(today or utcnow().date())
    for suspension in lapsed:
        suspension.status = "released"
        suspension.updated_at = utcnow()
        _publish(session, suspension)
    return len(lapsed)
