"""Notifications keep the transaction that wrote them, and are handed out in (xid, seq)
order once that transaction is older than every running one (no time-based settle).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from customs_shared.notifications.migrations import add_transaction_ids, drop_transaction_ids

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_transaction_ids()


def downgrade() -> None:
    drop_transaction_ids()
