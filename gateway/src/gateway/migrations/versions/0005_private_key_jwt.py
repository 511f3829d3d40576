"""private_key_jwt: clients' public keys, and the assertion ids already used.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import customs_shared.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch:
        batch.add_column(sa.Column("jwks", sa.JSON(), nullable=True))
    op.create_table(
        "used_client_assertions",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("jti", sa.String(length=200), nullable=False),
        sa.Column("expires_at", customs_shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "jti", name=op.f("pk_used_client_assertions")),
    )
    op.create_index("ix_used_client_assertions_expires", "used_client_assertions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_used_client_assertions_expires", "used_client_assertions")
    op.drop_table("used_client_assertions")
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("jwks")
