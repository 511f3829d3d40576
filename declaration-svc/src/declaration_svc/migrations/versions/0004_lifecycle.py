"""Timeline entries say who moved the declaration and from which status; idempotency
keys are purged by age.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("declaration_timeline") as table:
        table.add_column(sa.Column("actor", sa.String(128), nullable=True))
        table.add_column(sa.Column("from_status", sa.String(24), nullable=True))
    op.create_index("ix_idempotency_keys_created", "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_created", "idempotency_keys")
    with op.batch_alter_table("declaration_timeline") as table:
        table.drop_column("from_status")
        table.drop_column("actor")
