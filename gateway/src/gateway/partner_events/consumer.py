"""The gateway's one consumer: routing's reports on partner events, kept for the
partner's read-back."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.events import catalog
from customs_shared.events.schemas import PartnerEventHandled
from customs_shared.messaging.consumer import Subscription
from gateway.partner_events import repository

log = logging.getLogger(__name__)


async def on_routing_report(session: AsyncSession, data: PartnerEventHandled) -> None:
    known = await repository.record_routing(
        session,
        data.source,
        data.event_id,
        data.model_dump(mode="json", exclude={"source", "event_id", "type"}),
    )
    if not known:  # pushed through another gateway deployment, or its row is gone
        log.info(
            "routing report on an unknown partner event",
            extra={"source": data.source, "event_id": data.event_id},
        )


SUBSCRIPTIONS: tuple[Subscription[Any], ...] = (
    Subscription(catalog.ROUTING_PARTNER_EVENT_HANDLED, on_routing_report),
)
