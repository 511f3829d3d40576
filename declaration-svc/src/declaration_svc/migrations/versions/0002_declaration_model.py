"""The richer declaration model: broker, transport, countries, Incoterm, invoice; an
item's unit price and preferential origin claim. All optional, so older rows stay valid.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("declarations") as table:
        table.add_column(sa.Column("broker", sa.JSON(), nullable=True))
        table.add_column(sa.Column("transport", sa.JSON(), nullable=True))
        table.add_column(sa.Column("countries", sa.JSON(), nullable=True))
        table.add_column(sa.Column("incoterm", sa.String(3), nullable=True))
        table.add_column(sa.Column("invoice", sa.JSON(), nullable=True))
    with op.batch_alter_table("declaration_items") as table:
        table.add_column(sa.Column("unit_price", sa.Numeric(20, 4), nullable=True))
        table.add_column(sa.Column("preferential_origin", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("declaration_items") as table:
        table.drop_column("preferential_origin")
        table.drop_column("unit_price")
    with op.batch_alter_table("declarations") as table:
        for column in ("invoice", "incoterm", "countries", "transport", "broker"):
            table.drop_column(column)
