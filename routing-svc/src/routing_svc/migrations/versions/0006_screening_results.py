"""A case keeps the screening results it received, to pass them on in its lane event.

Revision ID: 0006
Revises: 0005c
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("routing_cases") as batch:
        batch.add_column(sa.Column("signature_result", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("ipr_result", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("routing_cases") as batch:
        batch.drop_column("ipr_result")
        batch.drop_column("signature_result")
