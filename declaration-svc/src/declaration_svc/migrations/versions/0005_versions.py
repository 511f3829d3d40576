"""Amendments: a declaration's version, and the versions amendments replaced.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from customs_shared.db import UtcDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("declarations") as table:
        table.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.create_table(
        "declaration_versions",
        sa.Column(
            "declaration_id",
            sa.Uuid(),
            sa.ForeignKey("declarations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("replaced_at", UtcDateTime(), nullable=False),
        sa.Column("replaced_by", sa.String(128), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("declaration_versions")
    with op.batch_alter_table("declarations") as table:
        table.drop_column("version")
