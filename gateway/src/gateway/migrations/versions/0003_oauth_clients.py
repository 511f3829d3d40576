"""OAuth2 clients in the gateway's database (the clients file only seeds it).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import customs_shared.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oauth_clients",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.Text(), nullable=False),
        sa.Column("previous_secret_hash", sa.Text(), nullable=True),
        sa.Column(
            "previous_secret_expires_at",
            customs_shared.db.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("partner_event_types", sa.JSON(), nullable=False),
        sa.Column("partner_event_source", sa.String(length=500), nullable=True),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("rate_limit_per_minute", sa.Integer(), nullable=True),
        sa.Column("disabled_at", customs_shared.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("disabled_reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", customs_shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", customs_shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_oauth_clients")),
    )


def downgrade() -> None:
    op.drop_table("oauth_clients")
