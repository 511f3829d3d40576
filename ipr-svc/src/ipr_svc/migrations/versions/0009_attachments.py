"""Applicant kind and representative on applications; attachments and their bytes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from customs_shared.db import UtcDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Applications filed before the kind was asked were the demo holders' enterprises.
    op.add_column(
        "ipr_applications",
        sa.Column("applicant_kind", sa.String(16), nullable=False, server_default="enterprise"),
    )
    op.add_column("ipr_applications", sa.Column("representative", sa.JSON(), nullable=True))
    op.create_table(
        "ipr_attachments",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "application_id",
            sa.Uuid(),
            sa.ForeignKey("ipr_applications.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("attachment_type", sa.String(32), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(127), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=True),
        sa.Column("storage", sa.String(16), nullable=False),
        sa.Column("storage_key", sa.String(255), nullable=False),
        sa.Column("uploaded_by", sa.String(128), nullable=False),
        sa.Column("uploaded_at", UtcDateTime(), nullable=False),
        sa.Column("signature_status", sa.String(24), nullable=True),
        sa.Column("signature_report_id", sa.Uuid(), nullable=True),
    )
    op.create_index(
        "ix_ipr_attachments_application", "ipr_attachments", ["application_id", "uploaded_at"]
    )
    op.create_table(
        "ipr_attachment_blobs",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("content", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ipr_attachment_blobs")
    op.drop_index("ix_ipr_attachments_application", table_name="ipr_attachments")
    op.drop_table("ipr_attachments")
    op.drop_column("ipr_applications", "representative")
    op.drop_column("ipr_applications", "applicant_kind")
