"""Handled event ids indexed by age, for the messaging prune.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from customs_shared.migrations import (
    add_processed_events_age_index,
    drop_processed_events_age_index,
)

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_processed_events_age_index()


def downgrade() -> None:
    drop_processed_events_age_index()
