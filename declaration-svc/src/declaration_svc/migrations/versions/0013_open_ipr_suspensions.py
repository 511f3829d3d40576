"""The declaration keeps its count of IPR suspensions not yet lifted, counted from the
timeline for the declarations that have any.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKFILL = """
UPDATE declarations SET ipr_suspensions_open = (
    SELECT coalesce(sum(CASE WHEN t.event = 'ipr_suspension_suspended' THEN 1 ELSE -1 END), 0)
    FROM declaration_timeline t
    WHERE t.declaration_id = declarations.id
      AND t.event IN ('ipr_suspension_suspended', 'ipr_suspension_withdrawn',
                      'ipr_suspension_released')
)
WHERE id IN (
    SELECT declaration_id FROM declaration_timeline
    WHERE event = 'ipr_suspension_suspended'
)
"""


def upgrade() -> None:
    with op.batch_alter_table("declarations") as batch:
        batch.add_column(
            sa.Column("ipr_suspensions_open", sa.Integer(), server_default="0", nullable=False)
        )
    op.execute(_BACKFILL)


def downgrade() -> None:
    with op.batch_alter_table("declarations") as batch:
        batch.drop_column("ipr_suspensions_open")
