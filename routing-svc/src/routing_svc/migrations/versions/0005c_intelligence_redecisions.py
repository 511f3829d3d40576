"""Partner intelligence re-decides recently decided cases (an index on decided_at), and
alerts re-decide when their window opens (risk_alerts.activated_at).

Revision ID: 0005c
Revises: 0005b
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import customs_shared.db

revision: str = "0005c"
down_revision: str | None = "0005b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_routing_cases_decided", "routing_cases", ["decided_at"], unique=False)
    with op.batch_alter_table("risk_alerts") as batch:
        batch.add_column(
            sa.Column("activated_at", customs_shared.db.UtcDateTime(timezone=True), nullable=True)
        )
    op.create_index(
        "ix_risk_alerts_waiting",
        "risk_alerts",
        ["valid_from"],
        unique=False,
        postgresql_where=sa.text("activated_at IS NULL"),
        sqlite_where=sa.text("activated_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_risk_alerts_waiting",
        table_name="risk_alerts",
        postgresql_where=sa.text("activated_at IS NULL"),
        sqlite_where=sa.text("activated_at IS NULL"),
    )
    with op.batch_alter_table("risk_alerts") as batch:
        batch.drop_column("activated_at")
    op.drop_index("ix_routing_cases_decided", table_name="routing_cases")
