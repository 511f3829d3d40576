"""The notification tables in a service's migrations: each step written out, so a
revision creates what it created then, whatever the models say now."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from customs_shared.db import UtcDateTime
from customs_shared.notifications.visibility import TRANSACTION_ID_SQL

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def create_notification_tables() -> None:
    """The tables as they were first made (ipr-svc 0007, declaration-svc 0007)."""
    op.create_table(
        "notifications",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("id", name="uq_notifications_id"),
    )
    op.create_index("ix_notifications_tenant_seq", "notifications", ["tenant", "seq"])
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("delivered_seq", SEQ, nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_webhook_subscriptions_tenant", "webhook_subscriptions", ["tenant"])


def drop_notification_tables() -> None:
    op.drop_table("webhook_subscriptions")
    op.drop_index("ix_notifications_tenant_seq", "notifications")
    op.drop_table("notifications")


def add_transaction_ids() -> None:
    """Each notification keeps its writing transaction, and each subscription the xid part
    of its position. The rows already there get 0: they are all committed, so they come
    first, in their seq order, and a cursor of a bare seq still points among them."""
    with op.batch_alter_table("notifications") as table:
        table.add_column(sa.Column("xid", sa.BigInteger(), nullable=False, server_default="0"))
    if op.get_bind().dialect.name == "postgresql":
        # A writer that leaves the column out (one still running the previous release)
        # records its transaction too, rather than 0, which would put its row behind
        # every cursor.
        op.alter_column("notifications", "xid", server_default=sa.text(TRANSACTION_ID_SQL))
    op.drop_index("ix_notifications_tenant_seq", "notifications")
    op.create_index("ix_notifications_tenant_xid_seq", "notifications", ["tenant", "xid", "seq"])
    op.create_index("ix_notifications_xid_seq", "notifications", ["xid", "seq"])
    with op.batch_alter_table("webhook_subscriptions") as table:
        table.add_column(
            sa.Column("delivered_xid", sa.BigInteger(), nullable=False, server_default="0")
        )


def drop_transaction_ids() -> None:
    op.drop_index("ix_notifications_xid_seq", "notifications")
    op.drop_index("ix_notifications_tenant_xid_seq", "notifications")
    op.create_index("ix_notifications_tenant_seq", "notifications", ["tenant", "seq"])
    with op.batch_alter_table("webhook_subscriptions") as table:
        table.drop_column("delivered_xid")
    with op.batch_alter_table("notifications") as table:
        table.drop_column("xid")
