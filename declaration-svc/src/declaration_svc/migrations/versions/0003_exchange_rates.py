"""Customs exchange rates, and a declaration's rate and values in VND.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from customs_shared.db import UtcDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(20, 4)
RATE = sa.Numeric(20, 6)


def upgrade() -> None:
    op.create_table(
        "exchange_rates",
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("valid_from", sa.Date(), primary_key=True),
        sa.Column("vnd_per_unit", RATE, nullable=False),
        sa.Column("loaded_by", sa.String(128), nullable=False),
        sa.Column("loaded_at", UtcDateTime(), nullable=False),
    )
    with op.batch_alter_table("declarations") as table:
        table.add_column(sa.Column("exchange_rate", RATE, nullable=True))
        table.add_column(sa.Column("total_customs_value_vnd", MONEY, nullable=True))
    with op.batch_alter_table("declaration_items") as table:
        table.add_column(sa.Column("customs_value_vnd", MONEY, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("declaration_items") as table:
        table.drop_column("customs_value_vnd")
    with op.batch_alter_table("declarations") as table:
        table.drop_column("total_customs_value_vnd")
        table.drop_column("exchange_rate")
    op.drop_table("exchange_rates")
