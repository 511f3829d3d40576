"""Partner intelligence re-decides recently decided cases: an index on decided_at.

Revision ID: 0005c
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005c"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_routing_cases_decided", "routing_cases", ["decided_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_routing_cases_decided", table_name="routing_cases")
