"""Hits kept one a row, for the holders of the rights hit.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from customs_shared.db import UtcDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ipr_hits",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("declaration_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("item_line", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.String(64), nullable=False),
        sa.Column("holder_tenant", sa.String(64), nullable=False, index=True),
        sa.Column("matched", sa.String(200), nullable=False),
        sa.Column("text", sa.String(2000), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("why", sa.String(16), nullable=False),
        sa.Column("screened_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ipr_hits")
