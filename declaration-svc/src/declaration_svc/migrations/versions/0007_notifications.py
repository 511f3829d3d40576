"""Notifications (the pull queue and the webhooks' source) and webhook subscriptions.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from customs_shared.notifications.migrations import (
    create_notification_tables,
    drop_notification_tables,
)

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_notification_tables()


def downgrade() -> None:
    drop_notification_tables()
