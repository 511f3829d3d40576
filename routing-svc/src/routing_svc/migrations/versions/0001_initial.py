"""Routing cases, lane decisions, outbox and processed events.

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
        "routing_cases",
        sa.Column("declaration_id", sa.Uuid(), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=True),
        sa.Column("signature_status", sa.String(24), nullable=True),
        sa.Column("ipr_outcome", sa.String(16), nullable=True),
        sa.Column("ipr_hits", sa.JSON(), nullable=False),
        sa.Column("first_seen_at", UtcDateTime(), nullable=False),
        sa.Column("deadline_at", UtcDateTime(), nullable=True),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
    )
    op.create_index(
        "ix_routing_cases_undecided",
        "routing_cases",
        ["deadline_at"],
        postgresql_where=sa.text("decided_at IS NULL"),
        sqlite_where=sa.text("decided_at IS NULL"),
    )
    op.create_table(
        "lane_decisions",
        # The primary key is what makes the lane unique per declaration.
        sa.Column("declaration_id", sa.Uuid(), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False, index=True),
        sa.Column("lane", sa.String(8), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("rule_set_version", sa.String(64), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("decided_at", UtcDateTime(), nullable=False),
    )
    create_messaging_tables()


def downgrade() -> None:
    for table in ("processed_events", "outbox_events", "lane_decisions", "routing_cases"):
        op.drop_table(table)
