"""All SQL of notifications and webhook subscriptions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, func, or_, select, tuple_

from customs_shared.notifications.models import Notification, WebhookSubscription
from customs_shared.notifications.visibility import visible_horizon
from customs_shared.repository import RepositoryBase


class Position(NamedTuple):
    """Where a reader got to: the (xid, seq) of the last notification it was handed."""

    xid: int
    seq: int

    @classmethod
    def of(cls, notification: Notification) -> Position:
        return cls(notification.xid, notification.seq)


class NotificationRepository(RepositoryBase[Notification]):
    model = Notification

    async def after(
        self, tenant: str | None, position: Position, limit: int
    ) -> Sequence[Notification]:
        """Final notifications past ``position``, in (xid, seq) order: a row whose
        transaction might still be running, or commit later than one already handed out,
        is not among them yet, and will never be behind a cursor (see visibility.py)."""
        statement = (
            select(Notification)
            .where(
                tuple_(Notification.xid, Notification.seq) > tuple_(*position),
                Notification.xid < visible_horizon(),
            )
            .order_by(Notification.xid, Notification.seq)
            .limit(limit)
        )
        if tenant is not None:
            statement = statement.where(Notification.tenant == tenant)
        return (await self.session.scalars(statement)).all()

    async def start(self) -> Position:
        """Where a reader starting now begins: past every final notification, before any
        that might still commit (so it misses none that commits after it)."""
        if self.session.get_bind().dialect.name == "postgresql":
            return Position(int(await self.session.scalar(select(visible_horizon())) or 0), 0)
        # One writer at a time (see visibility.py): what comes later comes after the last.
        return Position(0, int(await self.session.scalar(select(func.max(Notification.seq))) or 0))


def _of_client(tenant: str, client_id: str) -> tuple[ColumnElement[bool], ...]:
    """A client's own subscriptions: each client of a tenant manages only its own."""
    return (WebhookSubscription.tenant == tenant, WebhookSubscription.client_id == client_id)


class SubscriptionRepository(RepositoryBase[WebhookSubscription]):
    model = WebhookSubscription

    async def of_client(self, tenant: str, client_id: str) -> Sequence[WebhookSubscription]:
        statement = (
            select(WebhookSubscription)
            .where(*_of_client(tenant, client_id))
            .order_by(WebhookSubscription.created_at)
        )
        return (await self.session.scalars(statement)).all()

    async def count_of_client(self, tenant: str, client_id: str) -> int:
        statement = select(func.count()).where(*_of_client(tenant, client_id))
        return int(await self.session.scalar(statement) or 0)

    async def owned(
        self, tenant: str, client_id: str, subscription_id: uuid.UUID
    ) -> WebhookSubscription | None:
        statement = select(WebhookSubscription).where(
            WebhookSubscription.id == subscription_id, *_of_client(tenant, client_id)
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def due(self, now: datetime, limit: int) -> Sequence[WebhookSubscription]:
        """Enabled subscriptions whose next attempt is due and that have a final
        notification past the one they got to (idle ones are not claimed)."""
        waiting = (
            select(Notification.seq)
            .where(
                Notification.tenant == WebhookSubscription.tenant,
                tuple_(Notification.xid, Notification.seq)
                > tuple_(WebhookSubscription.delivered_xid, WebhookSubscription.delivered_seq),
                Notification.xid < visible_horizon(),
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
