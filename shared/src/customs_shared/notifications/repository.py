"""All SQL of notifications and webhook subscriptions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select

from customs_shared.notifications.models import Notification, WebhookSubscription
from customs_shared.repository import RepositoryBase


class NotificationRepository(RepositoryBase[Notification]):
    model = Notification

    async def after(
        self, tenant: str | None, seq: int, settled_before: datetime, limit: int
    ) -> Sequence[Notification]:
        """Notifications past ``seq``, oldest first, only those created before
        ``settled_before``: a later one might still be overtaken by an earlier seq
        whose transaction has not committed yet."""
        statement = (
            select(Notification)
            .where(Notification.seq > seq, Notification.created_at < settled_before)
            .order_by(Notification.seq)
            .limit(limit)
        )
        if tenant is not None:
            statement = statement.where(Notification.tenant == tenant)
        return (await self.session.scalars(statement)).all()

    async def last_seq(self) -> int:
        return int(await self.session.scalar(select(func.max(Notification.seq))) or 0)


class SubscriptionRepository(RepositoryBase[WebhookSubscription]):
    model = WebhookSubscription

    async def of_tenant(self, tenant: str) -> Sequence[WebhookSubscription]:
        statement = (
            select(WebhookSubscription)
            .where(WebhookSubscription.tenant == tenant)
            .order_by(WebhookSubscription.created_at)
        )
        return (await self.session.scalars(statement)).all()

    async def count_of_tenant(self, tenant: str) -> int:
        statement = select(func.count()).where(WebhookSubscription.tenant == tenant)
        return int(await self.session.scalar(statement) or 0)

    async def owned(self, tenant: str, subscription_id: uuid.UUID) -> WebhookSubscription | None:
        statement = select(WebhookSubscription).where(
            WebhookSubscription.id == subscription_id, WebhookSubscription.tenant == tenant
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def due(
        self, now: datetime, settled_before: datetime, limit: int
    ) -> Sequence[WebhookSubscription]:
        """Enabled subscriptions whose next attempt is due and that have a settled
        notification past the one they got to (idle ones are not claimed)."""
        waiting = (
            select(Notification.seq)
            .where(
                Notification.tenant == WebhookSubscription.tenant,
                Notification.seq > WebhookSubscription.delivered_seq,
                Notification.created_at < settled_before,
            )
            .exists()
        )
        statement = (
            select(WebhookSubscription)
            .where(
                WebhookSubscription.enabled.is_(True),
                WebhookSubscription.next_attempt_at <= now,
                waiting,
            )
            .order_by(WebhookSubscription.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(statement)).all()

    async def leased(
        self, subscription_id: uuid.UUID, lease_until: datetime
    ) -> WebhookSubscription | None:
        """The subscription if it is still under the lease that ends at ``lease_until``."""
        statement = (
            select(WebhookSubscription)
            .where(
                WebhookSubscription.id == subscription_id,
                WebhookSubscription.next_attempt_at == lease_until,
            )
            .with_for_update()
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def secrets_starting(
        self, prefixes: Sequence[str], limit: int
    ) -> Sequence[WebhookSubscription]:
        statement = (
            select(WebhookSubscription)
            .where(
                or_(*(WebhookSubscription.secret.startswith(p, autoescape=True) for p in prefixes))
            )
            .order_by(WebhookSubscription.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(statement)).all()
