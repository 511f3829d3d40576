"""Database plumbing: async engine, one transaction per request or message, migrations."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, NamedTuple, TypedDict, TypeVar, cast

import orjson
from alembic import command
from alembic.config import Config
from fastapi import Depends, Request
from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    DateTime,
    MetaData,
    Table,
    Text,
    TypeDecorator,
    any_,
    bindparam,
    case,
    event,
    func,
    insert,
    inspect,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy import cast as cast_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Dialect, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.orm.attributes import set_committed_value
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


def create_engine(url: str, *, pool_size: int = 20) -> AsyncEngine:
    """The service's engine. Its pool keeps every connection it opens (``pool_size`` of
    them, no overflow): a connection opened for a burst and closed after it costs a new
    PostgreSQL backend each time, which under load is more CPU than the queries. No
    pre-ping per checkout either (a round trip each time): connections are recycled
    after 30 minutes, and one found dead invalidates the pool (SQLAlchemy's disconnect
    handling), so the next checkout reconnects."""
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url,
            connect_args={"timeout": 30},
            json_serializer=json_text,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_recycle=1800,
        connect_args=_tls_default(make_url(url)),
        json_serializer=json_text,
    )


_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _tls_default(url: URL) -> dict[str, Any]:
    """asyncpg tries TLS first unless told otherwise (``sslmode=prefer``); to a server on
    this host that is a wasted round trip and handshake on every connect. Only when the
    URL says nothing about TLS; a remote server keeps asyncpg's default."""
    if {"ssl", "sslmode"} & set(url.query):
        return {}
    host = url.host
    if host is None or host in _LOCAL_HOSTS or host.startswith("/"):
        return {"ssl": False}
    return {}


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
        await write_queued(session, at_commit=True)


# scope="function" commits before the response is sent, so a 2xx means the data is durable.
DbSession = Annotated[AsyncSession, Depends(get_db_session, scope="function")]


async def insert_if_absent(
    session: AsyncSession, model: type[DeclarativeBase], **values: Any
) -> bool:
    """``INSERT … ON CONFLICT DO NOTHING`` in one round trip; True if the row is new.

    The database's unique key decides, so concurrent callers never both win and no
    savepoint is needed."""
    statement = _insert_if_absent(model, session.get_bind().dialect.name)
    return (await session.execute(statement, values)).first() is not None


ModelT = TypeVar("ModelT", bound=DeclarativeBase)


_AT_COMMIT = "insert_at_commit"


class _Into(NamedTuple):
    """Where queued rows go: a table, and what becomes of a row whose key is there
    already: an error, skipped (``if_absent``: ``ON CONFLICT DO NOTHING``), or its
    ``update`` columns set from the new row (``ON CONFLICT DO UPDATE``). ``by_key``: not
    new rows but the changes of loaded ones (:func:`write_changes_at_commit`), an
    ``UPDATE`` of their ``update`` columns."""

    model: type[DeclarativeBase]
    if_absent: bool = False
    update: tuple[str, ...] = ()
    by_key: bool = False


# A queued row: an ORM object (its attributes are read at commit), or where it goes and
# the values of one row.
_Queued = DeclarativeBase | tuple[_Into, dict[str, Any]]


def insert_at_commit(session: AsyncSession | Session, row: DeclarativeBase) -> None:
    """Queues a new row for the insert of the transaction's new rows, at its commit: for
    rows a transaction writes and never reads back (outbox events, notifications, a hot
    path's new rows), added from code that cannot or need not wait for a statement. The
    row stays outside the session, and relationships are not followed, so children name
    their parent's key themselves; only the attributes set are written, the others get
    their column defaults. The session factory
    (customs_shared.messaging.outbox.session_factory) writes them before the commit, or
    earlier with :func:`write_queued` (for a read that must see them); a session of
    another factory gets the row through the unit of work, as ``add`` would."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    if not _writes_queued_rows(type(sync)):
        sync.add(row)
        return
    session.info.setdefault(_AT_COMMIT, []).append(row)


def insert_values_at_commit(
    session: AsyncSession | Session,
    model: type[DeclarativeBase],
    rows: Iterable[dict[str, Any]],
    *,
    if_absent: bool = False,
) -> None:
    """:func:`insert_at_commit` for rows given as column values: not even an ORM object
    is built, for the many children of a hot path. ``if_absent``: a row whose key is in
    the table already is skipped (so is a second one of a key queued twice); a read
    that must see these rows calls :func:`write_queued` first."""
    _queue_values(session, _Into(model, if_absent), rows)


def upsert_values_at_commit(
    session: AsyncSession | Session,
    model: type[DeclarativeBase],
    rows: Iterable[dict[str, Any]],
    *,
    update: Sequence[str],
) -> None:
    """:func:`upsert` at commit, with the transaction's other new rows: a row whose key
    is in the table already gets its ``update`` columns from the queued one. Of two rows
    queued with the same key, the later is written. A read that must see these rows
    calls :func:`write_queued` first."""
    _queue_values(session, _Into(model, update=tuple(update)), rows)


def _queue_values(
    session: AsyncSession | Session, into: _Into, rows: Iterable[dict[str, Any]]
) -> None:
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    if _writes_queued_rows(type(sync)):
        session.info.setdefault(_AT_COMMIT, []).extend((into, values) for values in rows)
    elif into.if_absent or into.update:
        # The unit of work has no ON CONFLICT: only a plain insert can fall back to it.
        raise TypeError("rows queued if absent or upserted need the session factory's commit hook")
    else:
        sync.add_all(into.model(**values) for values in rows)


class _Tracked(NamedTuple):
    """What :func:`_changes` needs of a model: its columns' attributes, its key's, and
    the Python ``onupdate`` of its columns."""

    columns: frozenset[str]
    keys: tuple[str, ...]
    onupdate: dict[str, Callable[[], Any]]


# The models whose loaded rows' changes go in the commit's one statement.
_CHANGES_AT_COMMIT: dict[type[DeclarativeBase], _Tracked] = {}


def write_changes_at_commit(model: type[DeclarativeBase]) -> None:
    """Changes to loaded rows of ``model`` are written, on asyncpg, in the statement that
    writes the queued rows at commit (:func:`write_queued`): one ``UPDATE … FROM
    unnest(…)`` for all the changed rows of ``model``, where the unit of work sends
    an ``UPDATE`` for each row, a round trip and a statement for the server each: for the
    rows a consumer's batch locks and changes, event by event.

    As the unit of work does, only the columns each row changed are written (the others
    keep their value, whoever wrote it), with the columns' Python ``onupdate`` values.
    Unlike it, a row gone meanwhile is not reported: only for a table whose rows are not
    deleted while in use. A model with a version counter, or an ``onupdate`` the database
    computes, is refused."""
    mapper = inspect(model)
    if mapper.version_id_col is not None:
        raise TypeError(f"{model.__name__}: a version counter needs the unit of work")
    onupdate: dict[str, Callable[[], Any]] = {}
    for column in cast(Table, model.__table__).columns:
        computed = column.onupdate
        if column.server_onupdate is not None or (
            computed is not None and (computed.is_sequence or computed.is_clause_element)
        ):
            raise TypeError(f"{model.__name__}.{column.key}: an onupdate the database computes")
        if computed is not None:
            onupdate[column.key] = _python_call(computed)
    columns = frozenset(attribute.key for attribute in mapper.column_attrs)
    keys = tuple(column.key for column in cast(Table, model.__table__).primary_key.columns)
    _CHANGES_AT_COMMIT[model] = _Tracked(columns, keys, onupdate)


# A loaded row's change: where it goes, its key and changed columns' values, and the row.
_Change = tuple[_Into, dict[str, Any], DeclarativeBase]


def _changes(session: Session) -> list[_Change]:
    """The changes of the loaded rows of the models given to :func:`write_changes_at_commit`
    (a row whose key changed is left to the unit of work).

    All of a model's changed rows go in one ``UPDATE`` naming every column any of them
    changed, each row's own changes marked (:func:`_update_by_key`): with an ``UPDATE``
    per set of columns changed, a consumer's batches of mixed events made a new statement
    text at two commits in five (routing: 82 in its first 200 at 20 declarations/s), each
    one compiled, prepared by the server, and crowding the driver's cache of prepared
    statements."""
    if not _CHANGES_AT_COMMIT:
        return []
    changed: list[tuple[type[DeclarativeBase], dict[str, Any], DeclarativeBase]] = []
    columns: dict[type[DeclarativeBase], set[str]] = {}
    for row in session.dirty:
        model: type[DeclarativeBase] = type(row)
        tracked = _CHANGES_AT_COMMIT.get(model)
        if tracked is None:
            continue
        state = inspect(row)
        now = state.dict
        # What the unit of work's history tells, read off the state without building
        # it: an attribute set since loading whose value differs from the loaded one
        # (never loaded: a marker, which equals no value).
        values = {
            key: now[key]
            for key, loaded in state.committed_state.items()
            if key in tracked.columns and key in now and loaded != now[key]
        }
        if not values or any(key in values for key in tracked.keys):
            continue
        values |= {key: make() for key, make in tracked.onupdate.items() if key not in values}
        columns.setdefault(model, set()).update(values)
        values |= {key: now[key] for key in tracked.keys}
        changed.append((model, values, row))
    into = {
        model: _Into(model, update=_in_table_order(model, frozenset(names)), by_key=True)
        for model, names in columns.items()
    }
    return [(into[model], values, row) for model, values, row in changed]


def _written(changes: list[_Change]) -> None:
    """The rows' changes are in the database: nothing is left for the unit of work."""
    for _into, values, row in changes:
        for key, value in values.items():
            set_committed_value(row, key, value)


_HOOKED: dict[type[Session], bool] = {}


def _writes_queued_rows(session_class: type[Session]) -> bool:
    hooked = _HOOKED.get(session_class)
    if hooked is None:
        hooked = _HOOKED[session_class] = event.contains(
            session_class, "before_commit", write_queued_rows
        )
    return hooked


def write_queued_rows(session: Session) -> None:
    """The ``before_commit`` hook of the session factory. Runs inside the async session's
    greenlet, so the sync session's statements are the async connection's.

    On PostgreSQL the rows of several tables go in one statement, each table's insert a
    data-modifying ``WITH`` of the others (a round trip and a statement's overhead saved
    per table: a submission writes six). The foreign keys between them hold, as they are
    checked at the end of the statement. Each table's rows are one insert, in the order
    they were queued, so generated keys (a timeline's, the outbox's) follow that order."""
    rows = session.info.pop(_AT_COMMIT, None)
    if not rows:
        return
    queued = _last_of_each_key([_values(row) for row in rows])
    dialect = session.get_bind().dialect.name
    tables = _per_table(queued) if dialect == "postgresql" else None
    if tables is not None and len(tables) > 1:
        # Arrays only: the engine would pass a one-row insert's typed values through their
        # types' conversion a second time.
        shape, parameters = _shape_and_parameters(tables, one_row_values=False)
        session.execute(_one_statement(shape), parameters)
        return
    for into, values in _by_table(queued):
        session.execute(_insert_rows(into, dialect), values)


async def write_queued(session: AsyncSession, *, at_commit: bool = False) -> None:
    """Writes the rows queued for the commit now: before a statement that must see them
    (a delete of a row that may be among them), or, ``at_commit``, as the last statement
    of a transaction about to commit (the request's and the consumer's do so).

    On asyncpg the statement goes to the driver as it is, compiled once per shape: the
    ORM's and the engine's work for it (the statement cache, the parameters' processing,
    the greenlet) was a fifth of an intake's CPU. At commit, when nothing else ran in the
    transaction and nothing else is left to flush, that one statement is the transaction
    (a statement is atomic): no ``BEGIN`` and ``COMMIT``, two round trips fewer.

    At commit the statement also writes the changes of the loaded rows of the models given
    to :func:`write_changes_at_commit`."""
    if not session.info.get(_AT_COMMIT) and not (at_commit and _changes_to_write(session)):
        return
    if not await _written_by_driver(session, at_commit=at_commit):
        await session.run_sync(write_queued_rows)


def _changes_to_write(session: AsyncSession) -> bool:
    return bool(_CHANGES_AT_COMMIT) and any(
        type(row) in _CHANGES_AT_COMMIT for row in session.sync_session.dirty
    )


async def _written_by_driver(session: AsyncSession, *, at_commit: bool) -> bool:
    dialect = session.get_bind().dialect
    if dialect.driver != "asyncpg":
        return False
    connection = await session.connection()
    pooled = await connection.get_raw_connection()
    driver: Any = pooled.driver_connection
    if not driver.is_in_transaction():
        # Alone only at commit, and only with no flush to follow: a statement outside
        # the transaction would commit apart from the rest.
        unit_of_work = session.sync_session
        if not at_commit or unit_of_work.new or unit_of_work.dirty or unit_of_work.deleted:
            return False
    changes = _changes(session.sync_session) if at_commit else []
    queued = _last_of_each_key(
        [_values(row) for row in session.info.get(_AT_COMMIT, ())]
        + [(into, values) for into, values, _row in changes]
    )
    if not queued:
        return True  # rows dirty to the session, set to what they were: nothing to write
    tables = _per_table(queued)
    if tables is None:
        return False
    shape, parameters = _shape_and_parameters(tables, one_row_values=True)
    compiled = _driver_statement(shape, dialect)
    if compiled is None:
        return False
    sql, names = compiled
    session.info.pop(_AT_COMMIT, None)
    arguments = [parameters[name] for name in names]
    try:
        await _send(connection, driver, sql, arguments)
    except Exception as error:
        translated = await _as_sqlalchemy_error(connection, pooled, sql, arguments, error)
        if translated is error:
            raise
        raise translated from error
    _written(changes)
    return True


async def _send(connection: AsyncConnection, driver: Any, sql: str, arguments: list[Any]) -> None:
    # Apart so that tests can count the statements the engine's events do not see.
    await driver.execute(sql, *arguments)


# The tables of the queue's one insert, in order: where each goes, the columns it names,
# and whether its one row goes as values (else its rows as arrays).
_Shape = tuple[tuple[_Into, tuple[str, ...], bool], ...]


def _shape_and_parameters(
    tables: list[tuple[_Into, list[dict[str, Any]]]], *, one_row_values: bool
) -> tuple[_Shape, dict[str, Any]]:
    """The shape of :func:`_one_statement` for ``tables`` and its parameters; a table of one
    row as values if ``one_row_values``."""
    shape = tuple(
        (
            into,
            _keys_and_update(into) if into.by_key else _columns_with_defaults(into.model, values),
            one_row_values and len(values) == 1,
        )
        for into, values in tables
    )
    parameters: dict[str, Any] = {}
    for n, ((into, columns, one_row), (_into, values)) in enumerate(
        zip(shape, tables, strict=True)
    ):
        table = cast(Table, into.model.__table__)
        if into.by_key:
            parameters |= _changed_values(
                table, values, columns, into.update, one_row=one_row, prefix=f"t{n}_"
            )
        elif one_row:
            parameters |= _one_row(table, values[0], columns, prefix=f"t{n}_")
        else:
            parameters |= _arrays(table, values, columns, prefix=f"t{n}_")
    return shape, parameters


@functools.cache
def _driver_statement(shape: _Shape, dialect: Dialect) -> tuple[str, tuple[str, ...]] | None:
    """:func:`_one_statement` as the driver takes it, and its parameters' names in order.
    None if it would need a parameter the queue does not give (a default SQLAlchemy
    computes at execution)."""
    compiled = _one_statement(shape).compile(dialect=dialect)
    names = tuple(compiled.positiontup or ())
    given = {
        f"t{n}_{column}" for n, (_into, columns, _one) in enumerate(shape) for column in columns
    } | {
        f"t{n}_{column}{_CHANGED}"
        for n, (into, _c, _one) in enumerate(shape)
        for column in into.update
        if into.by_key
    }
    if not set(names) <= given:
        return None
    return compiled.string, names


async def _as_sqlalchemy_error(
    connection: AsyncConnection,
    pooled: Any,
    sql: str,
    arguments: list[Any],
    error: Exception,
) -> BaseException:
    """``error`` of the driver as the engine would have raised it (an ``IntegrityError``,
    an ``OperationalError``…; an ``OSError`` as it is), so that callers and
    :func:`customs_shared.outage.is_outage` tell faults from outages alike on both paths;
    a connection that died is invalidated, not returned to the pool."""
    dialect = connection.dialect
    try:
        # The dialect's own translation of asyncpg's errors to DB-API ones; it raises.
        pooled.dbapi_connection._handle_exception(error)
    except Exception as translated:
        error = translated
    invalidated = bool(pooled.driver_connection.is_closed())
    if invalidated:
        await connection.invalidate(error)
    if not isinstance(error, dialect.loaded_dbapi.Error):
        return error
    return DBAPIError.instance(
        sql,
        arguments,
        error,
        dialect.loaded_dbapi.Error,
        connection_invalidated=invalidated,
        dialect=dialect,
    )


def drop_queued_rows(session: Session) -> None:
    """The rollback hook: what was queued goes with the transaction."""
    session.info.pop(_AT_COMMIT, None)


def _per_table(
    queued: Iterable[tuple[_Into, dict[str, Any]]],
) -> list[tuple[_Into, list[dict[str, Any]]]] | None:
    """The queued rows by table, each table's rows in the order queued and naming the same
    columns: a column some rows leave out is filled with what its default would give.
    None when that cannot be done in Python (a default computed by the database).

    The tables in an order of their own, not the order their first rows were queued in:
    the one statement's text then depends on which tables a transaction writes, not on
    which of its events came first (the statement's parts see one snapshot and its foreign
    keys are checked at its end, so their order changes nothing else)."""
    tables: dict[_Into, list[dict[str, Any]]] = {}
    for into, values in queued:
        tables.setdefault(into, []).append(values)
    for into, table_rows in tables.items():
        columns = set().union(*table_rows)
        if into.by_key or all(len(given) == len(columns) for given in table_rows):
            continue  # a change names its own columns: the others are marked unchanged
        defaults = _python_defaults(into.model)
        table = cast(Table, into.model.__table__)
        for given in table_rows:
            for key in columns.difference(given):
                column = table.c[key]
                if key in defaults:
                    given[key] = defaults[key]()
                elif column.default is None and column.server_default is None:
                    given[key] = None
                else:
                    return None
    return sorted(tables.items(), key=_table_order)


def _table_order(
    table: tuple[_Into, list[dict[str, Any]]],
) -> tuple[str, bool, tuple[str, ...], bool]:
    into = table[0]
    return cast(Table, into.model.__table__).name, into.if_absent, into.update, into.by_key


def _columns_with_defaults(
    model: type[DeclarativeBase], rows: list[dict[str, Any]]
) -> tuple[str, ...]:
    """The columns an insert of ``rows`` names, in the table's order: those given, and
    those whose default is computed in Python (a generated key, a timestamp), filled in
    here row by row (the dicts are the queue's): an ``INSERT … SELECT`` would compute
    them once for the whole statement."""
    fill = {k: f for k, f in _python_defaults(model).items() if k not in rows[0]}
    for values in rows:
        for key, default in fill.items():
            values[key] = default()
    return _in_table_order(model, frozenset(rows[0]))


@functools.cache
def _in_table_order(model: type[DeclarativeBase], given: frozenset[str]) -> tuple[str, ...]:
    return tuple(c.key for c in cast(Table, model.__table__).columns if c.key in given)


@functools.cache
def _python_defaults(model: type[DeclarativeBase]) -> dict[str, Callable[[], Any]]:
    defaults: dict[str, Callable[[], Any]] = {}
    for column in cast(Table, model.__table__).columns:
        default = column.default
        if default is None or default.is_sequence or default.is_clause_element:
            continue
        defaults[column.key] = _python_call(default)
    return defaults


def _python_call(default: Any) -> Callable[[], Any]:
    """A column's Python ``default`` or ``onupdate`` as a call of no arguments."""
    arg = default.arg
    # SQLAlchemy wraps a callable default to take the execution context; ours ignore it.
    return functools.partial(arg, None) if default.is_callable else functools.partial(_same, arg)


def _same(value: Any) -> Any:
    return value


@functools.cache
def _one_statement(shape: _Shape) -> Any:
    """The queue's tables in one statement (see :func:`write_queued_rows`): each table's
    insert (or update) but the last a data-modifying ``WITH``."""
    statements = []
    for n, (into, columns, one_row) in enumerate(shape):
        table = cast(Table, into.model.__table__)
        if into.by_key:
            statements.append(_update_by_key(into, columns, one_row=one_row, prefix=f"t{n}_"))
            continue
        insert_ = (
            _one_row_insert(table, columns, prefix=f"t{n}_")
            if one_row
            else batch_insert(table, columns, "postgresql", prefix=f"t{n}_")
        )
        statements.append(_on_conflict(insert_, into))
    others = [statement.cte(f"queued_{n}") for n, statement in enumerate(statements[:-1])]
    return statements[-1].add_cte(*others)


# Names a column's marks in an UPDATE of changes: whether each row changed it.
_CHANGED = "__changed"


def _update_by_key(into: _Into, columns: Sequence[str], *, one_row: bool, prefix: str) -> Any:
    """``UPDATE`` of rows found by their key: each of the ``update`` columns set from
    :func:`_written_values` in the rows that changed it (its mark), kept in the others,
    so that a column a row did not change keeps whatever another transaction wrote."""
    table = cast(Table, into.model.__table__)
    marks = [column + _CHANGED for column in into.update]
    if set(marks) & set(table.c.keys()):
        raise TypeError(f"{table.name}: a column named like a mark ({_CHANGED})")
    given = _written_values(table, columns, one_row=one_row, prefix=prefix, marks=marks)
    keys = [column.key for column in table.primary_key.columns]
    return (
        update(table)
        .where(*(table.c[key] == given[key] for key in keys))
        .values({c: case((given[c + _CHANGED], given[c]), else_=table.c[c]) for c in into.update})
    )


@functools.cache
def _keys_and_update(into: _Into) -> tuple[str, ...]:
    keys = {column.key for column in inspect(into.model).primary_key}
    return _in_table_order(into.model, frozenset(into.update) | keys)


def _changed_values(
    table: Table,
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    update: Sequence[str],
    *,
    one_row: bool,
    prefix: str,
) -> dict[str, Any]:
    """The parameters of :func:`_update_by_key`: each column's values (None where a row did
    not change it, its mark saying so) and each ``update`` column's marks."""
    given = [{c: row.get(c) for c in columns} for row in rows]
    parameters: dict[str, Any] = (
        _one_row(table, given[0], columns, prefix=prefix)
        if one_row
        else _arrays(table, given, columns, prefix=prefix)
    )
    for c in update:
        marks = [c in row for row in rows]
        parameters[prefix + c + _CHANGED] = marks[0] if one_row else marks
    return parameters


def _written_values(
    table: Table,
    columns: Sequence[str],
    *,
    one_row: bool,
    prefix: str,
    marks: Sequence[str] = (),
) -> dict[str, Any]:
    """Each of ``columns``' values in a statement writing ``table``: one row's as
    parameters, or many rows' as arrays, unnested (one text whatever their number). The
    driver takes the values as :func:`_one_row` and :func:`_arrays` convert them; a JSON
    value travels as its text (an array parameter would take a JSON list for one more
    dimension) and is cast back here. ``marks``: booleans given beside the values."""
    json_columns = _json_columns(table)
    types: dict[str, Any] = {c: Text() if c in json_columns else table.c[c].type for c in columns}
    types |= {mark: Boolean() for mark in marks}
    given: dict[str, Any]
    if one_row:
        given = {c: bindparam(prefix + c, type_=type_) for c, type_ in types.items()}
    else:
        arrays = [bindparam(prefix + c, type_=_DriverArray(type_)) for c, type_ in types.items()]
        rows = func.unnest(*arrays).table_valued(*types).render_derived()
        given = {c: rows.c[c] for c in types}
    return {c: cast_(value, JSON) if c in json_columns else value for c, value in given.items()}


def _one_row_insert(table: Table, columns: Sequence[str], *, prefix: str) -> Any:
    """``INSERT … VALUES`` of one row, each value a parameter: cheaper than arrays of one
    item, for the driver and the server alike, and most tables of a transaction get one
    row (its event, its notification, its receipt)."""
    values = _written_values(table, columns, one_row=True, prefix=prefix)
    return postgresql.insert(table).values(values)


def _on_conflict(statement: Any, into: _Into) -> Any:
    if into.update:
        keys = [column.name for column in inspect(into.model).primary_key]
        return statement.on_conflict_do_update(
            index_elements=keys, set_={name: statement.excluded[name] for name in into.update}
        )
    return statement.on_conflict_do_nothing() if into.if_absent else statement


def _last_of_each_key(
    queued: list[tuple[_Into, dict[str, Any]]],
) -> list[tuple[_Into, dict[str, Any]]]:
    """Rows to upsert, one per key, the last queued (in the place of the first): one
    statement may not update a row twice."""
    if not any(into.update for into, _values in queued):
        return queued
    kept: list[tuple[_Into, dict[str, Any]]] = []
    place: dict[tuple[_Into, tuple[Any, ...]], int] = {}
    for into, values in queued:
        if into.update:
            key = (into, _primary_key(into.model, values))
            if key in place:
                kept[place[key]] = (into, values)
                continue
            place[key] = len(kept)
        kept.append((into, values))
    return kept


def _by_table(
    queued: Iterable[tuple[_Into, dict[str, Any]]],
) -> list[tuple[_Into, list[dict[str, Any]]]]:
    # Keyed by table and the columns given: an executemany sends the same columns each row.
    batches: dict[tuple[_Into, frozenset[str]], list[dict[str, Any]]] = {}
    for into, values in queued:
        batches.setdefault((into, frozenset(values)), []).append(values)
    return [(into, values) for (into, _columns), values in batches.items()]


def _values(row: _Queued) -> tuple[_Into, dict[str, Any]]:
    if isinstance(row, tuple):
        return row
    state = inspect(row)
    given = state.dict
    return _Into(state.mapper.class_), {
        a.key: given[a.key] for a in state.mapper.column_attrs if a.key in given
    }


async def lock_or_insert(session: AsyncSession, model: type[ModelT], **values: Any) -> ModelT:
    """The row with ``values``' primary key, inserted with ``values`` if absent, locked
    until the transaction ends: one ``INSERT … ON CONFLICT DO UPDATE … RETURNING``
    instead of an insert and a ``SELECT … FOR UPDATE``. Of two concurrent callers, the
    second waits for the first to commit and then gets the row as the first left it.
    No statement at all when :func:`lock_or_insert_all` already locked it."""
    key = _primary_key(model, values)
    held = locked(session, model, key)
    if held is not None:
        return held
    statement = _lock_or_insert(model, session.get_bind().dialect.name)
    # A row this session already holds keeps its unflushed changes (no populate_existing),
    # as a SELECT would: an earlier event of the same batch may have changed it.
    return cast(ModelT, (await session.scalars(statement, [values])).one())


async def lock_or_insert_all(
    session: AsyncSession, model: type[ModelT], rows: Sequence[dict[str, Any]]
) -> None:
    """:func:`lock_or_insert` for many rows in one statement, before the handlers of a
    consumer's batch ask for them one by one (and then get them without a statement).
    In primary key order, so that two transactions locking overlapping sets cannot
    deadlock; a key given twice is locked once."""
    unique = {_primary_key(model, row): row for row in rows}
    wanted = [unique[key] for key in sorted(unique) if locked(session, model, key) is None]
    if not wanted:
        return
    dialect = session.get_bind().dialect.name
    columns = tuple(wanted[0])
    if dialect != "postgresql" or any(tuple(row) != columns for row in wanted):
        statement = _lock_or_insert(model, dialect)
        _hold(session, model, (await session.scalars(statement, wanted)).all())
        return
    statement = _lock_or_insert_arrays(model, columns)
    arrays = batch_parameters(cast(Table, model.__table__), wanted, columns, dialect)
    _hold(session, model, (await session.scalars(statement, arrays)).all())


async def lock_all(session: AsyncSession, model: type[ModelT], keys: Iterable[Any]) -> None:
    """Locks the existing rows of ``keys`` (a single-column primary key) in one
    ``SELECT … FOR UPDATE``, in key order; :func:`locked` then hands them out."""
    column = inspect(model).primary_key[0]
    wanted = sorted({(k,) for k in keys} - set(_held(session, model)))
    if not wanted:
        return
    keys_ = [k for (k,) in wanted]
    dialect = session.get_bind().dialect.name
    statement = (
        select(model).where(any_of(column, keys_, dialect)).order_by(column).with_for_update()
    )
    _hold(session, model, (await session.scalars(statement)).all())


def locked(session: AsyncSession, model: type[ModelT], key: Any) -> ModelT | None:
    """The row of ``key`` if this transaction locked it with :func:`lock_all` or
    :func:`lock_or_insert_all`. ``key``: the primary key value, or a tuple of them."""
    return cast(ModelT | None, _held(session, model).get(key if isinstance(key, tuple) else (key,)))


def _held(session: AsyncSession, model: type[DeclarativeBase]) -> dict[tuple[Any, ...], Any]:
    # Strong references: the session's identity map alone would let the rows go.
    held: dict[type[DeclarativeBase], dict[tuple[Any, ...], Any]]
    held = session.info.setdefault("locked_rows", {})
    return held.setdefault(model, {})


def _hold(session: AsyncSession, model: type[DeclarativeBase], rows: Iterable[Any]) -> None:
    mapper = inspect(model)
    held = _held(session, model)
    for row in rows:
        held[tuple(mapper.primary_key_from_instance(row))] = row


def _primary_key(model: type[DeclarativeBase], values: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(values[column.name] for column in inspect(model).primary_key)


# The statements are built once per model and dialect: building and hashing a statement
# costs more than executing a cached one, and these run for every event.
def upsert_insert(dialect: str) -> Callable[..., Any]:
    """The ``insert`` with ``ON CONFLICT`` clauses of the dialect named: PostgreSQL's, or
    SQLite's for the local run."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


@functools.cache
def _insert_rows(into: _Into, dialect: str) -> Any:
    # inline: no RETURNING of the key for a single row, so one row and many send the same
    # text, and a connection prepares and plans it once.
    table = cast(Table, into.model.__table__)
    if into.if_absent or into.update:
        return _on_conflict(upsert_insert(dialect)(table), into).inline()
    return insert(table).inline()


@functools.cache
def _insert_if_absent(model: type[DeclarativeBase], dialect: str) -> Any:
    insert = upsert_insert(dialect)
    primary_key = inspect(model).primary_key[0]
    return insert(model).on_conflict_do_nothing().returning(primary_key)


@functools.cache
def _lock_or_insert(model: type[DeclarativeBase], dialect: str) -> Any:
    return _lock_or_insert_of(upsert_insert(dialect)(model), model)


@functools.cache
def _lock_or_insert_arrays(model: type[DeclarativeBase], columns: tuple[str, ...]) -> Any:
    table = cast(Table, model.__table__)
    upsert = _on_conflict_touch(batch_insert(table, columns, "postgresql"), model)
    # An INSERT … SELECT returns columns, not entities, through the ORM: mapped back.
    return select(model).from_statement(upsert.returning(*table.columns))


def _lock_or_insert_of(statement: Any, model: type[DeclarativeBase]) -> Any:
    return _on_conflict_touch(statement, model).returning(model)


def _on_conflict_touch(statement: Any, model: type[DeclarativeBase]) -> Any:
    keys = inspect(model).primary_key
    # A no-op update: what matters is that DO UPDATE locks the row and returns it.
    touch = {keys[0].name: statement.excluded[keys[0].name]}
    return statement.on_conflict_do_update(index_elements=keys, set_=touch)


# PostgreSQL keeps a plan for each statement text a connection prepares (asyncpg
# prepares every statement; SQLAlchemy caches 100 per connection). ``IN ($1, $2, …)`` and
# multi-row ``VALUES`` are a new text for each number of rows, so a consumer whose batches
# vary in size would prepare (a round trip and a plan) and keep up to a hundred near-copies
# per connection, and the backends' memory would grow until every size had come by.
# Arrays give one text whatever the number of rows.


def any_of(column: Any, values: Sequence[Any], dialect: str) -> ColumnElement[bool]:
    """``column IN values`` as one statement text whatever the number of values: on
    PostgreSQL ``column = ANY($1)`` with the values as one array parameter."""
    if dialect != "postgresql":
        return cast(ColumnElement[bool], column.in_(values))
    array = bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
    return cast(ColumnElement[bool], column == any_(array))


def pairs_in(
    first: Any, second: Any, pairs: Sequence[tuple[Any, Any]], dialect: str
) -> ColumnElement[bool]:
    """``(first, second) IN pairs`` as one statement text whatever the number of pairs: on
    PostgreSQL the pairs come as two array parameters, unnested."""
    if dialect != "postgresql":
        return cast(ColumnElement[bool], tuple_(first, second).in_(pairs))
    arrays = [
        bindparam(None, [pair[n] for pair in pairs], type_=postgresql.ARRAY(column.type))
        for n, column in enumerate((first, second))
    ]
    rows = func.unnest(*arrays).table_valued("first", "second").render_derived()
    return cast(ColumnElement[bool], tuple_(first, second).in_(select(rows.c.first, rows.c.second)))


def batch_insert(table: Table, columns: Sequence[str], dialect: str, *, prefix: str = "") -> Any:
    """The dialect's upsert-capable insert of many rows in one statement, executed with
    :func:`batch_parameters`. On PostgreSQL ``INSERT INTO table (columns) SELECT … FROM
    unnest($1, $2, …)``: one statement text whatever the number of rows, each column's
    values one array parameter, rows inserted in the arrays' order; columns left out get
    their defaults once per statement, so ``columns`` must name every column whose default
    differs row by row (a generated key). Elsewhere a plain insert, sent as an executemany.
    ``prefix``: of the parameters' names, for several inserts in one statement."""
    if dialect != "postgresql":
        return upsert_insert(dialect)(table)
    values = _written_values(table, columns, one_row=False, prefix=prefix)
    return postgresql.insert(table).from_select(list(columns), select(*values.values()))


class _DriverArray(postgresql.ARRAY[Any]):
    """An array whose items the driver takes as they are. SQLAlchemy's ARRAY would pass
    every item through its type's conversion, one generic call per item and dimension;
    :func:`_arrays` converts each column's values in one comprehension instead."""

    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> None:
        return None


_ASYNCPG: Dialect = postgresql.asyncpg.dialect()  # type: ignore[no-untyped-call]


def batch_parameters(
    table: Table, rows: Sequence[dict[str, Any]], columns: Sequence[str], dialect: str
) -> dict[str, list[Any]] | Sequence[dict[str, Any]]:
    """The parameters of a :func:`batch_insert`: one array per column on PostgreSQL,
    the rows themselves (an executemany) elsewhere."""
    if dialect != "postgresql":
        return rows
    return _arrays(table, rows, columns)


def _arrays(
    table: Table, rows: Sequence[dict[str, Any]], columns: Sequence[str], *, prefix: str = ""
) -> dict[str, list[Any]]:
    converters = _bind_converters(table)
    arrays: dict[str, list[Any]] = {}
    for c in columns:
        convert = converters.get(c)
        values = [row[c] for row in rows]
        arrays[prefix + c] = values if convert is None else [convert(v) for v in values]
    return arrays


def _one_row(
    table: Table, row: dict[str, Any], columns: Sequence[str], *, prefix: str
) -> dict[str, Any]:
    converters = _bind_converters(table)
    values: dict[str, Any] = {}
    for c in columns:
        convert = converters.get(c)
        values[prefix + c] = row[c] if convert is None else convert(row[c])
    return values


@functools.cache
def _json_columns(table: Table) -> frozenset[str]:
    return frozenset(c.key for c in table.columns if isinstance(c.type, JSON))


@functools.cache
def _bind_converters(table: Table) -> dict[str, Callable[[Any], Any]]:
    """What each column's value goes through before the driver takes it in an array: a
    JSON value becomes its text (an array parameter would take a JSON list for one more
    dimension), other types their own conversion on asyncpg (a UTC timestamp's check)."""
    converters: dict[str, Callable[[Any], Any]] = {}
    for column in table.columns:
        if isinstance(column.type, JSON):
            converters[column.key] = json_text
            continue
        process = column.type.dialect_impl(_ASYNCPG).bind_processor(_ASYNCPG)
        if process is not None:
            converters[column.key] = process
    return converters


def json_text(value: Any) -> str:
    """A JSON column's value as the text PostgreSQL parses (None as JSON null): the
    engine's serializer too. In C (orjson): the standard library's encoder showed in
    every service's profile. orjson refuses integers beyond 64 bits, which partners'
    and operators' JSON may hold: those go through the standard library, exact."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value)


T = TypeVar("T")


def per_transaction(session: AsyncSession) -> dict[str, Any]:
    """What the session's transaction keeps for its own later use, by key: loaded once
    (:func:`once_per_transaction`), or loaded ahead for a consumer's whole batch by a
    prepare step. Sessions here live for one transaction each (a request's, or a
    batch's), so the session's ``info`` is the transaction's."""
    kept: dict[str, Any] = session.info.setdefault("once_per_transaction", {})
    return kept


async def once_per_transaction(
    session: AsyncSession, key: str, load: Callable[[], Awaitable[T]]
) -> T:
    """``load()``'s result, loaded once for the session's transaction and reused by every
    later call in it: for what every event of a consumer's batch reads alike (the rule
    set in force, the alerts in force)."""
    cache = per_transaction(session)
    if key not in cache:
        cache[key] = await load()
    return cast(T, cache[key])


def forget_per_transaction(session: AsyncSession, key: str) -> None:
    """Drops what the transaction kept under ``key`` (:func:`per_transaction`): it has
    just changed it."""
    per_transaction(session).pop(key, None)


async def try_advisory_xact_lock(session: AsyncSession, name: str) -> bool:
    """Takes the lock called ``name`` until the transaction ends, unless another
    transaction holds it (then False at once, no wait). PostgreSQL advisory locks;
    SQLite lets one writer in at a time anyway, so there it is always True."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    statement = text("SELECT pg_try_advisory_xact_lock(:key)")
    return bool(await session.scalar(statement, {"key": key}))


@functools.cache
def _upsert(model: type[DeclarativeBase], update: tuple[str, ...], dialect: str) -> Any:
    # Built once, without values (the executed rows name the columns): a multi-row
    # ``.values([...])`` has no cache key, so SQLAlchemy would compile it on every call.
    statement = upsert_insert(dialect)(cast(Table, model.__table__))
    keys = [column.name for column in inspect(model).primary_key]
    return statement.on_conflict_do_update(
        index_elements=keys, set_={name: statement.excluded[name] for name in update}
    )


async def upsert(
    session: AsyncSession,
    model: type[DeclarativeBase],
    rows: list[dict[str, Any]],
    update: list[str],
) -> None:
    """``INSERT … ON CONFLICT (primary key) DO UPDATE`` of ``update`` for each of ``rows``
    (which name the same columns), one statement text whatever their number: concurrent
    loads of the same keys end with one of them, never an error."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    statement = _upsert(model, tuple(update), dialect)
    await session.execute(statement, rows)


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
