"""The background task that pushes notifications to webhooks."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.app import BackgroundFactory, Runtime
from customs_shared.background import periodic
from customs_shared.notifications import service
from customs_shared.notifications.settings import NotifyingServiceSettings


async def _deliver(session: AsyncSession, runtime: Runtime[Any]) -> int:
    settings: NotifyingServiceSettings = runtime.settings
    return await service.deliver_due(session, http=runtime.http, policy=settings.delivery_policy())


def webhook_delivery(settings: NotifyingServiceSettings) -> BackgroundFactory[Any]:
    return periodic("webhook-delivery", _deliver, interval_seconds=settings.webhook_poll_seconds)
