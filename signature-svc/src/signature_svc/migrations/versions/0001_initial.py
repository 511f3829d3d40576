"""Signature checks, outbox and processed events.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from customs_shared.db import UtcDateTime
from customs_shared.migrations import create_messaging_tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signature_checks",
        sa.Column("declaration_id", sa.Uuid(), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False, index=True),
        sa.Column("declarant_kind", sa.String(16), nullable=False),
        sa.Column("declarant_tax_code", sa.String(14), nullable=True),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("detail", sa.String(1000), nullable=False),
        sa.Column("checked_at", UtcDateTime(), nullable=False),
    )
    create_messaging_tables()


def downgrade() -> None:
    for table in ("processed_events", "outbox_events", "signature_checks"):
        op.drop_table(table)
