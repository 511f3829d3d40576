"""Tells the partner what routing did with its event: a report on the lanes topic that the
gateway keeps for the partner's read-back (``GET /api/v1/partner-events/{source}/{id}``).
The report's id is derived from the partner event's, so a redelivered report is one."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.db import utcnow
from customs_shared.events import catalog
from customs_shared.events.schemas import PartnerEventHandled
from customs_shared.messaging.consumer import current_event
from customs_shared.messaging.outbox import add_event

SOURCE = "/customs/routing-svc"
_REPORT_NAMESPACE = uuid.UUID("0f4c3c52-5c8e-4b7e-9b53-3f1f6f2d9a10")


def report(
    session: AsyncSession,
    outcome: str,
    *,
    checked: int = 0,
    raised: int = 0,
    detail: str = "",
) -> None:
    event = current_event()
    data = PartnerEventHandled(
        source=event.source,
        event_id=event.id,
        type=event.type,
        outcome=outcome,
        declarations_checked=checked,
        declarations_raised=raised,
        detail=detail,
        handled_at=utcnow(),
    )
    add_event(
        session,
        catalog.ROUTING_PARTNER_EVENT_HANDLED,
        source=SOURCE,
        key=event.subject or event.id,
        event_id=uuid.uuid5(_REPORT_NAMESPACE, f"{event.source}\x1f{event.id}"),
        data=data,
    )
