"""Database plumbing: async engine, one transaction per request or message, migrations."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any, TypedDict, cast

from alembic import command
from alembic.config import Config
from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, TypeDecorator, event, inspect, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """Table metadata for one service's declarative base. Each service has its own,
    so that its models describe its own database and nothing else."""
    return MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_MIGRATION_LOCK_KEY = 0x637573746F6D73  # "customs"; one lock per database


def utcnow() -> datetime:
    return datetime.now(UTC)


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, pool_recycle=1800
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # WAL lets the outbox relay and the consumer read while a request writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class DbState(TypedDict):
    """The part of a service's lifespan state that request sessions come from."""

    sessions: async_sessionmaker[AsyncSession]


async def get_db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request owns the transaction: commit when the endpoint returns, roll back
    if it raises. Nothing below the endpoint commits."""
    sessions = cast(DbState, request.scope["state"])["sessions"]
    async with sessions() as session, session.begin():
        yield session


# scope="function" commits before the response is sent, so a 2xx means the data is durable.
DbSession = Annotated[AsyncSession, Depends(get_db_session, scope="function")]


async def insert_if_absent(
    session: AsyncSession, model: type[DeclarativeBase], **values: Any
) -> bool:
    """``INSERT … ON CONFLICT DO NOTHING`` in one round trip; True if the row is new.

    The database's unique key decides, so concurrent callers never both win and no
    savepoint is needed."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    primary_key = inspect(model).primary_key[0]
    statement = insert(model).values(**values).on_conflict_do_nothing().returning(primary_key)
    return (await session.execute(statement)).first() is not None


async def try_advisory_xact_lock(session: AsyncSession, name: str) -> bool:
    """Takes the lock called ``name`` until the transaction ends, unless another
    transaction holds it (then False at once, no wait). PostgreSQL advisory locks;
    SQLite lets one writer in at a time anyway, so there it is always True."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    statement = text("SELECT pg_try_advisory_xact_lock(:key)")
    return bool(await session.scalar(statement, {"key": key}))


async def upsert(
    session: AsyncSession,
    model: type[DeclarativeBase],
    rows: list[dict[str, Any]],
    update: list[str],
) -> None:
    """``INSERT … ON CONFLICT (primary key) DO UPDATE`` of ``update``, one statement for
    all ``rows``: concurrent loads of the same keys end with one of them, never an error."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(model).values(rows)
    keys = [column.name for column in inspect(model).primary_key]
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=keys, set_={name: statement.excluded[name] for name in update}
        )
    )


async def check_database(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def run_migrations(engine: AsyncEngine, script_location: str) -> None:
    """Upgrades the service's schema to head (alembic ``package:path`` location).

    Runs on the engine's own connection so no second (sync) driver is needed."""

    def upgrade(connection: Connection) -> None:
        config = Config()
        config.set_main_option("script_location", script_location)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Replicas starting together take turns; the later ones find the schema current.
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
        await connection.run_sync(upgrade)
