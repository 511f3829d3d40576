"""Which notifications are final: the position a reader may hand out up to without ever
passing over a row that commits later.

On PostgreSQL each notification keeps the id of the transaction that wrote it
(``pg_current_xact_id()``). Every transaction whose id is below the reading statement's
snapshot xmin has ended, and any transaction still running or yet to start has an id at or
above it. So the rows with an id below that horizon form a set that no later commit can
grow, and a cursor on (transaction id, seq) within it never skips one.

SQLite lets one writer at a time hold the database from its first write to its commit, so
its seq order is already the commit order: the id is 0 there and every row is final."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class transaction_id(FunctionElement[int]):
    """The writing transaction's id (xid8, as a bigint; it fits for 2^31 epochs)."""

    type = BigInteger()
    inherit_cache = True


class visible_horizon(FunctionElement[int]):
    """The lowest transaction id the statement's snapshot may still see running."""

    type = BigInteger()
    inherit_cache = True


# The column default on PostgreSQL, for writers that leave the column out (see the
# migration that added it).
TRANSACTION_ID_SQL = "pg_current_xact_id()::text::bigint"


@compiles(transaction_id)
def _transaction_id(_element: transaction_id, _compiler: SQLCompiler, **_kw: Any) -> str:
    return "0"


@compiles(transaction_id, "postgresql")
def _transaction_id_pg(_element: transaction_id, _compiler: SQLCompiler, **_kw: Any) -> str:
    return f"({TRANSACTION_ID_SQL})"


@compiles(visible_horizon)
def _horizon(_element: visible_horizon, _compiler: SQLCompiler, **_kw: Any) -> str:
    return "1"


@compiles(visible_horizon, "postgresql")
def _horizon_pg(_element: visible_horizon, _compiler: SQLCompiler, **_kw: Any) -> str:
    return "(pg_snapshot_xmin(pg_current_snapshot())::text::bigint)"
