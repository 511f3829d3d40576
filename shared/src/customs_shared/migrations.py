"""Helpers for each service's Alembic ``env.py`` and initial migration."""

from __future__ import annotations

from typing import Any, cast

from alembic import context, op
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from customs_shared.messaging.models import MessagingBase


def run_env(target_metadata: MetaData, *shared: MetaData) -> None:
    """Body of every service's ``env.py``: migrations run on a connection handed in
    by :func:`customs_shared.db.run_migrations` (online mode only). The target is the
    service's own metadata plus the messaging tables and the ``shared`` tables it uses
    (its ``db.SHARED_METADATA``, e.g. the notification tables)."""
    connection: Connection | None = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("migrations run through customs_shared.db.run_migrations")
    context.configure(
        connection=connection,
        target_metadata=[target_metadata, MessagingBase.metadata, *shared],
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def create_messaging_tables() -> None:
    """The outbox and processed-event tables, from their one definition."""
    MessagingBase.metadata.create_all(op.get_bind())


def drop_messaging_tables() -> None:
    MessagingBase.metadata.drop_all(op.get_bind())


async def schema_drift(engine: AsyncEngine, metadata: MetaData, *shared: MetaData) -> list[Any]:
    """What Alembic's autogenerate would change to make the migrated database match
    the service's models (plus the messaging tables): empty when the two agree."""

    def compare(connection: Connection) -> list[Any]:
        migration_context = MigrationContext.configure(connection, opts={"compare_type": True})
        # Alembic takes a sequence of MetaData wherever it takes one (target_metadata).
        targets = cast(MetaData, [metadata, MessagingBase.metadata, *shared])
        return list(compare_metadata(migration_context, targets))

    async with engine.connect() as connection:
        return await connection.run_sync(compare)


def add_processed_events_age_index() -> None:
    """The index the prune deletes by; a database created after it was added to the
    model already has it (create_messaging_tables builds today's definition)."""
    op.create_index(
        "ix_processed_events_processed_at",
        "processed_events",
        ["processed_at"],
        if_not_exists=True,
    )


def drop_processed_events_age_index() -> None:
    op.drop_index("ix_processed_events_processed_at", "processed_events", if_exists=True)
