"""Cases closed by an officer's release or rejection.

Revision ID: 0005m
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import customs_shared.db

revision: str = "0005m"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("routing_cases") as batch:
        batch.add_column(sa.Column("closed_status", sa.String(length=24), nullable=True))
        batch.add_column(
            sa.Column("closed_at", customs_shared.db.UtcDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("routing_cases") as batch:
        batch.drop_column("closed_at")
        batch.drop_column("closed_status")
