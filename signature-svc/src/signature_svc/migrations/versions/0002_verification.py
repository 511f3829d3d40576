"""Verification reports, registered certificates, uploaded CRLs; a check links its report.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from customs_shared.db import UtcDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "verification_reports",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False, index=True),
        sa.Column("tax_code", sa.String(14), nullable=True),
        sa.Column("declaration_id", sa.Uuid(), nullable=True, index=True),
        sa.Column("indication", sa.String(16), nullable=False),
        sa.Column("sub_indication", sa.String(40), nullable=True),
        sa.Column("signer_fingerprint", sa.String(64), nullable=True),
        sa.Column("document_sha256", sa.String(64), nullable=True),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "registered_certificates",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False, index=True),
        sa.Column("tax_code", sa.String(14), nullable=False, index=True),
        sa.Column("fingerprint", sa.String(64), nullable=False, index=True),
        sa.Column("subject", sa.String(1000), nullable=False),
        sa.Column("issuer", sa.String(1000), nullable=False),
        sa.Column("serial", sa.String(64), nullable=False),
        sa.Column("not_before", UtcDateTime(), nullable=False),
        sa.Column("not_after", UtcDateTime(), nullable=False),
        sa.Column("certificate_der", sa.LargeBinary(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("registered_by", sa.String(200), nullable=False),
        sa.Column("registered_at", UtcDateTime(), nullable=False),
        sa.Column("deactivated_at", UtcDateTime(), nullable=True),
        sa.UniqueConstraint("tax_code", "fingerprint", name="uq_registered_certificates_tax_code"),
    )
    op.create_table(
        "uploaded_crls",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("issuer", sa.String(1000), nullable=False),
        sa.Column("issuer_sha256", sa.String(64), nullable=False, index=True),
        sa.Column("crl_sha256", sa.String(64), nullable=False),
        sa.Column("this_update", UtcDateTime(), nullable=False),
        sa.Column("next_update", UtcDateTime(), nullable=True),
        sa.Column("crl_der", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(200), nullable=False),
        sa.Column("uploaded_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("crl_sha256", name="uq_uploaded_crls_crl_sha256"),
    )
    with op.batch_alter_table("signature_checks") as batch:
        batch.add_column(sa.Column("indication", sa.String(16), nullable=True))
        batch.add_column(sa.Column("sub_indication", sa.String(40), nullable=True))
        batch.add_column(sa.Column("report_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("signature_checks") as batch:
        for column in ("report_id", "sub_indication", "indication"):
            batch.drop_column(column)
    for table in ("uploaded_crls", "registered_certificates", "verification_reports"):
        op.drop_table(table)
