"""Amended declarations: a case and a decision belong to a declaration version; a
cancelled declaration's case is closed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from customs_shared.db import UtcDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("routing_cases") as table:
        table.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        table.add_column(sa.Column("cancelled_at", UtcDateTime(), nullable=True))
    with op.batch_alter_table("lane_decisions") as table:
        table.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("lane_decisions") as table:
        table.drop_column("version")
    with op.batch_alter_table("routing_cases") as table:
        table.drop_column("cancelled_at")
        table.drop_column("version")
