"""Creating the notification tables in a service's migration, from their one definition."""

from __future__ import annotations

from alembic import op

from customs_shared.notifications.models import NotificationsBase


def create_notification_tables() -> None:
    NotificationsBase.metadata.create_all(op.get_bind())


def drop_notification_tables() -> None:
    NotificationsBase.metadata.drop_all(op.get_bind())
