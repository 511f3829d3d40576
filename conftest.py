"""Session-wide infrastructure shared by every test folder."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.db import Base, create_engine
from customs_shared.messaging.outbox import OutboxSignal, session_factory
from tests.support import infra
from tests.support.cluster import Cluster, start_cluster
from tests.support.postgres import PostgresServer

DATABASES = ["declarations", "signatures", "ipr", "routing", "scratch"]


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    with infra.kafka() as bootstrap:
        yield bootstrap


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with infra.postgres(DATABASES) as server:
        yield server


@pytest.fixture(scope="session")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str, postgres: PostgresServer
) -> Iterator[Cluster]:
    tmp: Path = tmp_path_factory.mktemp("cluster")
    running = start_cluster(
        tmp=tmp,
        kafka_bootstrap=kafka_bootstrap,
        postgres=postgres,
        extra_env={
            "{P}LOG_LEVEL": "INFO",
            "ROUTING_SCREENING_TIMEOUT_SECONDS": "20",
            # The tests poll hard; the limiter itself is tested in gateway/tests.
            "GATEWAY_RATE_LIMIT_PER_MINUTE": "100000",
            # Short enough for the slow-client tests (tests/e2e/test_http_limits.py).
            "{P}HEADER_READ_TIMEOUT_SECONDS": "2",
            "{P}BODY_READ_TIMEOUT_SECONDS": "3",
            "{P}BODY_TOTAL_TIMEOUT_SECONDS": "6",
        },
    )
    try:
        yield running
    finally:
        for process in reversed(list(running.processes.values())):
            process.stop()


@pytest.fixture
async def scratch_sessions(
    postgres: PostgresServer,
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on an emptied ``scratch`` database holding every model's tables, for
    integration tests of one service's logic without its process."""
    engine = create_engine(postgres.url("scratch"))
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.run_sync(Base.metadata.create_all)
    yield session_factory(engine, OutboxSignal())
    await engine.dispose()
