"""Declarations, items, timeline, idempotency keys, outbox and processed events.

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

MONEY = sa.Numeric(20, 4)


def upgrade() -> None:
    op.create_table(
        "declarations",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("submitted_by", sa.String(128), nullable=False),
        sa.Column("declarant_kind", sa.String(16), nullable=False),
        sa.Column("declarant_tax_code", sa.String(14), nullable=True),
        sa.Column("declarant_name", sa.String(300), nullable=False),
        sa.Column("declaration_type", sa.String(16), nullable=False),
        sa.Column("type_code", sa.String(8), nullable=False),
        sa.Column("customs_office", sa.String(8), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total_customs_value", MONEY, nullable=False),
        sa.Column("containers", sa.JSON(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=True),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("lane", sa.String(8), nullable=True),
        sa.Column("lane_reasons", sa.JSON(), nullable=False),
        sa.Column("rule_set_version", sa.String(64), nullable=True),
        sa.Column("signature_status", sa.String(24), nullable=True),
        sa.Column("ipr_outcome", sa.String(24), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    # Keyset pagination of a tenant's declarations, newest first.
    op.create_index(
        "ix_declarations_tenant_created", "declarations", ["tenant", "created_at", "id"]
    )
    op.create_table(
        "declaration_items",
        sa.Column(
            "declaration_id",
            sa.Uuid(),
            sa.ForeignKey("declarations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("line", sa.Integer(), primary_key=True),
        sa.Column("hs_code", sa.String(12), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("origin_country", sa.String(2), nullable=False),
        sa.Column("quantity", sa.Numeric(20, 4), nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("customs_value", MONEY, nullable=False),
        sa.Column("brand", sa.String(200), nullable=True),
    )
    op.create_table(
        "declaration_timeline",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "declaration_id",
            sa.Uuid(),
            sa.ForeignKey("declarations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("detail", sa.String(1000), nullable=False),
    )
    op.create_index(
        "ix_declaration_timeline_declaration_id", "declaration_timeline", ["declaration_id"]
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("declaration_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    create_messaging_tables()


def downgrade() -> None:
    for table in (
        "processed_events",
        "outbox_events",
        "idempotency_keys",
        "declaration_timeline",
        "declaration_items",
        "declarations",
    ):
        op.drop_table(table)
