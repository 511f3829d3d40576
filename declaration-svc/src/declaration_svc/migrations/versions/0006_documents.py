"""Documents attached to declarations, and their bytes when the database stores them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from customs_shared.db import UtcDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "declaration_id",
            sa.Uuid(),
            sa.ForeignKey("declarations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("declaration_version", sa.Integer(), nullable=False),
        sa.Column("document_type", sa.String(32), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(127), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=True),
        sa.Column("storage", sa.String(16), nullable=False),
        sa.Column("storage_key", sa.String(255), nullable=False),
        sa.Column("uploaded_by", sa.String(128), nullable=False),
        sa.Column("uploaded_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_documents_declaration", "documents", ["declaration_id", "uploaded_at"])
    op.create_table(
        "document_blobs",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("content", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("document_blobs")
    op.drop_index("ix_documents_declaration", "documents")
    op.drop_table("documents")
