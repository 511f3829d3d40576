"""Telling an outage of the infrastructure from a fault of the data: a record or a request
that failed because the database or the network was down is retried (consumer) or
answered 503 (API), never dead-lettered or answered 500."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# SQLSTATE classes of a server that cannot serve now: connection exception (08),
# insufficient resources (53), operator intervention (57P: shutting down, crashed,
# "not yet accepting connections" during crash recovery), system error (58).
_UNAVAILABLE_SQLSTATES = ("08", "53", "57P", "58")


def is_outage(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        # asyncpg's errors without a class of their own (CannotConnectNowError, …) reach
        # SQLAlchemy as a bare DBAPIError; their SQLSTATE says what they are.
        sqlstate = getattr(exc.orig, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
            return True
    # PoolTimeout: every pooled connection stayed busy for the pool's timeout (the pool
    # has no overflow): the service is saturated, which a retry a moment later resolves.
    return isinstance(exc, OperationalError | InterfaceError | OSError | TimeoutError | PoolTimeout)
