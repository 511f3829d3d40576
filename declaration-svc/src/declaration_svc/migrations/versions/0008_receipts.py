"""Receipts: the signed proof given for each accepted version.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from customs_shared.db import UtcDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "receipts",
        sa.Column(
            "declaration_id",
            sa.Uuid(),
            sa.ForeignKey("declarations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("jws", sa.Text(), nullable=False),
        sa.Column("issued_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("receipts")
