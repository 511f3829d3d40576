"""Inspection outcomes remember random selection; hit rates are read by period.

Revision ID: 0005b
Revises: 0005p
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005b"
down_revision: str | None = "0005p"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "inspection_outcomes",
        sa.Column("randomly_selected", sa.String(length=8), nullable=True),
    )
    op.create_index(
        op.f("ix_inspection_outcomes_recorded_at"),
        "inspection_outcomes",
        ["recorded_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_inspection_outcomes_recorded_at"), table_name="inspection_outcomes")
    op.drop_column("inspection_outcomes", "randomly_selected")
