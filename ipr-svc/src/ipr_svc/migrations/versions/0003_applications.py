"""Right holders' applications for customs action.

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


def upgrade() -> None:
    op.create_table(
        "ipr_applications",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("applicant_tenant", sa.String(64), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("right_type", sa.String(32), nullable=False),
        sa.Column("registration_number", sa.String(64), nullable=False),
        sa.Column("registration_office", sa.String(100), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("right_valid_until", sa.Date(), nullable=False),
        sa.Column("goods", sa.JSON(), nullable=False),
        sa.Column("authorised_importers", sa.JSON(), nullable=False),
        sa.Column("suspected_infringers", sa.JSON(), nullable=False),
        sa.Column("offices", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("contact", sa.JSON(), nullable=False),
        sa.Column("notification_url", sa.String(2000), nullable=True),
        sa.Column("filed_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ipr_applications")
