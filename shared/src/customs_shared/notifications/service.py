"""Queueing, subscribing, pulling and delivering notifications (see the package's doc)."""

from __future__ import annotations

import base64
import json
import logging
import random
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook

from customs_shared.auth import Principal, tenant_scope
from customs_shared.db import utcnow
from customs_shared.notifications.errors import (
    SubscriptionNotFound,
    UnknownEventType,
    WebhookTargetRefused,
)
from customs_shared.notifications.models import Notification, WebhookSubscription
from customs_shared.notifications.repository import NotificationRepository, SubscriptionRepository
from customs_shared.notifications.schemas import SubscriptionIn
from customs_shared.notifications.targets import check_target
from customs_shared.problems import BadRequest

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    allow_private_targets: bool
    retry_base: timedelta
    retry_cap: timedelta
    max_failures: int
    settle: timedelta  # how old a notification must be before it is handed out
    batch: int = 20


def notify(
    session: AsyncSession,
    *,
    tenant: str,
    type: str,
    data: dict[str, Any],
) -> None:
    """Queues one notification of ``type`` ("<area>.<event>") for ``tenant``, in the
    transaction of the change it reports."""
    NotificationRepository(session).add(
        Notification(id=uuid.uuid4(), tenant=tenant, type=type, data=data)
    )


async def _target(url: str, policy: DeliveryPolicy) -> None:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    await check_target(parts.hostname or "", port, allow_private=policy.allow_private_targets)


async def subscribe(
    *,
    session: AsyncSession,
    principal: Principal,
    body: SubscriptionIn,
    policy: DeliveryPolicy,
    area: str,
) -> WebhookSubscription:
    """Subscribes to the notifications of ``area`` (``declaration``, ``ipr``) the body names."""
    foreign = sorted(t for t in body.event_types if t != "*" and not t.startswith(f"{area}."))
    if foreign:
        raise UnknownEventType(
            f"This service sends {area}.* notifications only; not {', '.join(foreign)}."
        )
    await _target(str(body.url), policy)
    subscription = WebhookSubscription(
        id=uuid.uuid4(),
        tenant=principal.tenant,
        client_id=principal.subject,
        url=str(body.url),
        event_types=sorted(set(body.event_types)),
        secret="whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
        enabled=True,
        # From now on: what happened before the subscription is in the pull queue.
        delivered_seq=await NotificationRepository(session).last_seq(),
        consecutive_failures=0,
        next_attempt_at=utcnow(),
        created_at=utcnow(),
    )
    SubscriptionRepository(session).add(subscription)
    return subscription


async def subscriptions(
    *, session: AsyncSession, principal: Principal
) -> Sequence[WebhookSubscription]:
    return await SubscriptionRepository(session).of_tenant(principal.tenant)


async def _owned(
    session: AsyncSession, principal: Principal, subscription_id: uuid.UUID
) -> WebhookSubscription:
    found = await SubscriptionRepository(session).owned(principal.tenant, subscription_id)
    if found is None:
        raise SubscriptionNotFound(f"No webhook subscription {subscription_id}.")
    return found


async def unsubscribe(
    *, session: AsyncSession, principal: Principal, subscription_id: uuid.UUID
) -> None:
    await session.delete(await _owned(session, principal, subscription_id))


async def enable(
    *, session: AsyncSession, principal: Principal, subscription_id: uuid.UUID
) -> WebhookSubscription:
    """Re-enables a subscription; it resumes where delivery stopped."""
    subscription = await _owned(session, principal, subscription_id)
    subscription.enabled = True
    subscription.consecutive_failures = 0
    subscription.next_attempt_at = utcnow()
    return subscription


def _cursor(raw: str | None) -> int:
    if raw is None:
        return 0
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise BadRequest("`after` is the next_cursor of a previous page.")
    return int(raw)


async def pull(
    *,
    session: AsyncSession,
    principal: Principal,
    after: str | None,
    limit: int,
    policy: DeliveryPolicy,
) -> tuple[Sequence[Notification], str | None]:
    seq = _cursor(after)
    rows = await NotificationRepository(session).after(
        tenant_scope(principal), seq, utcnow() - policy.settle, limit
    )
    # The cursor only ever moves forward; an empty page keeps the caller where it was.
    return rows, str(rows[-1].seq if rows else seq)


def _wanted(subscription: WebhookSubscription, notification: Notification) -> bool:
    return "*" in subscription.event_types or notification.type in subscription.event_types


async def _send(
    http: httpx.AsyncClient,
    subscription: WebhookSubscription,
    notification: Notification,
    policy: DeliveryPolicy,
) -> str | None:
    """None when delivered; otherwise what went wrong."""
    now = utcnow()
    body = json.dumps(
        {"type": notification.type, "timestamp": now.isoformat(), "data": notification.data}
    )
    message_id = str(notification.id)  # the same on every retry: receivers drop repeats
    headers = {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(subscription.secret).sign(message_id, now, body),
    }
    try:
        await _target(subscription.url, policy)  # again: a name may resolve elsewhere now
        response = await http.post(subscription.url, content=body, headers=headers)
    except (httpx.HTTPError, WebhookTargetRefused) as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}"


def _back_off(subscription: WebhookSubscription, error: str, policy: DeliveryPolicy) -> None:
    subscription.consecutive_failures += 1
    subscription.last_error = error
    delay = min(
        policy.retry_cap, policy.retry_base * (2 ** min(subscription.consecutive_failures - 1, 30))
    )
    # Full jitter on the upper half: retries of many subscribers do not march in step.
    subscription.next_attempt_at = utcnow() + delay * random.uniform(0.5, 1.0)  # noqa: S311
    if subscription.consecutive_failures >= policy.max_failures:
        subscription.enabled = False
        log.warning(
            "webhook subscription disabled",
            extra={"subscription": str(subscription.id), "error": error},
        )


async def deliver_due(
    session: AsyncSession, *, http: httpx.AsyncClient, policy: DeliveryPolicy
) -> int:
    """One pass: each due subscription gets its next notifications, in order, until
    one fails. Returns how many were delivered."""
    delivered = 0
    now = utcnow()
    for subscription in await SubscriptionRepository(session).due(now, 50):
        pending = await NotificationRepository(session).after(
            subscription.tenant, subscription.delivered_seq, now - policy.settle, policy.batch
        )
        for notification in pending:
            if _wanted(subscription, notification):
                error = await _send(http, subscription, notification, policy)
                if error is not None:
                    _back_off(subscription, error, policy)
                    break
                delivered += 1
                subscription.consecutive_failures = 0
                subscription.last_error = None
            subscription.delivered_seq = notification.seq
    return delivered
