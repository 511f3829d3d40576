"""IPR records as filed or imported: registration, right type, owner, brands and aliases,
HS headings, authorised importers, offices, source.

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
    with op.batch_alter_table("ipr_records") as table:
        table.add_column(sa.Column("registration_number", sa.String(64), nullable=True))
        table.add_column(
            sa.Column("right_type", sa.String(32), nullable=False, server_default="trademark")
        )
        table.add_column(sa.Column("owner", sa.String(200), nullable=False, server_default=""))
        table.add_column(sa.Column("brands", sa.JSON(), nullable=False, server_default="[]"))
        table.add_column(
            sa.Column("authorised_importers", sa.JSON(), nullable=False, server_default="[]")
        )
        table.add_column(sa.Column("offices", sa.JSON(), nullable=False, server_default="[]"))
        table.add_column(
            sa.Column("source", sa.String(16), nullable=False, server_default="import")
        )
        table.add_column(
            sa.Column("updated_at", UtcDateTime(), nullable=False, server_default=sa.func.now())
        )
        table.alter_column("hs_prefixes", new_column_name="hs_headings")
        table.create_unique_constraint(
            "uq_ipr_records_registration_number", ["registration_number"]
        )
    # The one-machine run keeps its data in SQLite, whose JSON functions are named otherwise.
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("UPDATE ipr_records SET brands = json_array(mark)")
    else:
        op.execute("UPDATE ipr_records SET brands = json_build_array(mark)")
    with op.batch_alter_table("ipr_records") as table:
        table.drop_column("mark")
        for column in ("right_type", "owner", "brands", "authorised_importers", "offices"):
            table.alter_column(column, server_default=None)
        table.alter_column("source", server_default=None)
        table.alter_column("updated_at", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("ipr_records") as table:
        table.add_column(sa.Column("mark", sa.String(200), nullable=False, server_default=""))
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("UPDATE ipr_records SET mark = json_extract(brands, '$[0]')")
    else:
        op.execute("UPDATE ipr_records SET mark = brands ->> 0")
    with op.batch_alter_table("ipr_records") as table:
        table.alter_column("mark", server_default=None)
        table.drop_constraint("uq_ipr_records_registration_number", type_="unique")
        table.alter_column("hs_headings", new_column_name="hs_prefixes")
        for column in (
            "registration_number", "right_type", "owner", "brands",
            "authorised_importers", "offices", "source", "updated_at",
        ):  # fmt: skip
            table.drop_column(column)
