"""Which failures are outages (retry, 503) and which are faults of the data (DLQ, 500)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from customs_shared.outage import is_outage
from customs_shared.problems import install_problem_handlers


class _DriverError(Exception):
    """As the asyncpg adapter raises: the server's SQLSTATE on the error."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _wrapped(sqlstate: str) -> DBAPIError:
    return DBAPIError("SELECT 1", {}, _DriverError(sqlstate))


@pytest.mark.parametrize(
    ("sqlstate", "outage"),
    [
        ("57P03", True),  # cannot connect now: the server is in crash recovery
        ("57P01", True),  # admin shutdown
        ("08006", True),  # connection failure
        ("53300", True),  # too many connections
        ("23505", False),  # unique violation: the data's fault
        ("22P02", False),  # invalid text representation
    ],
)
def test_an_error_is_an_outage_by_its_sqlstate(sqlstate: str, outage: bool) -> None:
    assert is_outage(_wrapped(sqlstate)) is outage


def test_connection_errors_are_outages_and_data_errors_are_not() -> None:
    assert is_outage(OperationalError("SELECT 1", {}, ConnectionRefusedError()))
    assert is_outage(ConnectionResetError())
    assert is_outage(PoolTimeout("QueuePool limit of size 20 overflow 0 reached"))
    assert not is_outage(IntegrityError("INSERT", {}, _DriverError("23505")))
    assert not is_outage(ValueError("bad"))


async def test_a_request_that_meets_a_database_outage_is_a_503_problem_with_retry_after() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/recovering")
    async def recovering() -> None:
        raise _wrapped("57P03")

    @app.get("/broken")
    async def broken() -> None:
        raise RuntimeError("a bug")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        recovering_answer = await client.get("/recovering")
        broken_answer = await client.get("/broken")
    assert recovering_answer.status_code == 503
    assert recovering_answer.headers["content-type"] == "application/problem+json"
    assert recovering_answer.headers["retry-after"] == "1"
    assert broken_answer.status_code == 500
