"""The background tasks of webhooks: pushing notifications, and resealing the signing
secrets with the current key (after a key rotation, or for rows stored in clear)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.app import BackgroundFactory, Runtime
from customs_shared.background import periodic, periodic_runtime
from customs_shared.notifications import service
from customs_shared.notifications.settings import NotifyingServiceSettings

RESEAL_INTERVAL_SECONDS = 300.0


async def _deliver(runtime: Runtime[Any]) -> int:
    settings: NotifyingServiceSettings = runtime.settings
    return await service.deliver_due(
        runtime.sessions, http=runtime.http, policy=settings.delivery_policy()
    )


async def _reseal(session: AsyncSession, runtime: Runtime[Any]) -> int:
    settings: NotifyingServiceSettings = runtime.settings
    return await service.reseal_secrets(session, settings.delivery_policy())


def webhook_delivery(settings: NotifyingServiceSettings) -> BackgroundFactory[Any]:
    deliver = periodic_runtime(
        "webhook-delivery", _deliver, interval_seconds=settings.webhook_poll_seconds
    )
    reseal = periodic("webhook-secret-reseal", _reseal, interval_seconds=RESEAL_INTERVAL_SECONDS)

    @contextlib.asynccontextmanager
    async def running(runtime: Runtime[Any]) -> AsyncIterator[None]:
        async with deliver(runtime), reseal(runtime):
            yield

    return running
