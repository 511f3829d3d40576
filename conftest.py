"""Session-wide infrastructure shared by every test folder."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.db import create_engine, run_migrations
from customs_shared.messaging.outbox import OutboxSignal, session_factory
from customs_shared.services import SERVICES
from tests.support import infra
from tests.support.cluster import Cluster, start_cluster
from tests.support.partners import PARTNER, push_and_wait_until_handled, sample_origin_certificate
from tests.support.pki import Pki, build_pki
from tests.support.postgres import MigratedSessions, PostgresServer
from tests.support.redis import redis_server

DATABASES = [*(s.database for s in SERVICES if s.database), "scratch"]

# What a test may use decides its marker: a unit test starts nothing.
_INFRA_FIXTURES = frozenset(
    {"kafka_bootstrap", "postgres", "migrated_sessions", "sessions", "redis"}
)
_KINDS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test carries exactly one of the kind markers: ``e2e`` and ``integration``
    are set in the test module, ``unit`` is the default for the rest. A test marked
    (or defaulted to) ``unit`` that asks for real infrastructure is a mistake, and so
    is an ``integration`` test that runs the cluster."""
    for item in items:
        kinds = [kind for kind in _KINDS if item.get_closest_marker(kind) is not None]
        if len(kinds) > 1:
            raise pytest.UsageError(f"{item.nodeid}: marked {' and '.join(kinds)}")
        kind = kinds[0] if kinds else "unit"
        if not kinds:
            item.add_marker(pytest.mark.unit)
        fixtures = set(getattr(item, "fixturenames", ()))
        if kind == "unit" and fixtures & (_INFRA_FIXTURES | {"cluster"}):
            raise pytest.UsageError(f"{item.nodeid}: uses infrastructure; mark it integration")
        if kind == "integration" and "cluster" in fixtures:
            raise pytest.UsageError(f"{item.nodeid}: runs the cluster; mark it e2e")


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    with infra.kafka() as bootstrap:
        yield bootstrap


@pytest.fixture(scope="session")
def redis() -> Iterator[str]:
    """``host:port`` of a real Redis server (shared rate limits)."""
    with redis_server() as address:
        yield address


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with infra.postgres(DATABASES) as server:
        yield server


@pytest.fixture(scope="session")
def cluster(
    tmp_path_factory: pytest.TempPathFactory,
    kafka_bootstrap: str,
    postgres: PostgresServer,
    test_pki: Pki,
) -> Iterator[Cluster]:
    tmp: Path = tmp_path_factory.mktemp("cluster")
    infra.fresh_topics(kafka_bootstrap)
    running = start_cluster(
        tmp=tmp,
        kafka_bootstrap=kafka_bootstrap,
        postgres=postgres,
        extra_env={
            "{P}LOG_LEVEL": "INFO",
            "ROUTING_SCREENING_TIMEOUT_SECONDS": "20",
            # The tests poll hard; the limiter itself is tested in gateway/tests.
            "GATEWAY_RATE_LIMIT_PER_MINUTE": "100000",
            # Restart tests retry quickly; the breaker itself is tested in gateway/tests.
            "GATEWAY_UPSTREAM_BREAKER_OPEN_SECONDS": "1",
            # Short enough for the slow-client tests (tests/e2e/test_http_limits.py).
            "{P}HEADER_READ_TIMEOUT_SECONDS": "2",
            "{P}BODY_READ_TIMEOUT_SECONDS": "3",
            "{P}BODY_TOTAL_TIMEOUT_SECONDS": "6",
            # signature-svc trusts the test PKI (tests/support/pki.py) and nothing else.
            **test_pki.signature_env(),
            # Lets a test register a client of its own through the admin API.
            "GATEWAY_SECRET_PEPPER": "e2e-pepper-" + "0" * 32,
        },
    )
    try:
        # The exporting country's e-C/O for the preferential origin the enterprise sample
        # claims, as a partner pushes it: that sample then carries no origin risk.
        with running.client(PARTNER) as partner:
            push_and_wait_until_handled(partner, sample_origin_certificate())
        yield running
    finally:
        for process in reversed(list(running.processes.values())):
            process.stop()


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A throwaway PKI made with the OpenSSL command line (tests/support/pki.py)."""
    return build_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
async def migrated_sessions(postgres: PostgresServer) -> AsyncIterator[MigratedSessions]:
    """Sessions on the ``scratch`` database, emptied and then built by one service's
    Alembic migrations (``"routing_svc:migrations"``), for integration tests of that
    service's logic without its process."""
    engines = []

    async def migrate(migrations: str) -> async_sessionmaker[AsyncSession]:
        engine = create_engine(postgres.url("scratch"))
        engines.append(engine)
        async with engine.begin() as connection:
            await connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            await connection.exec_driver_sql("CREATE SCHEMA public")
        await run_migrations(engine, migrations)
        return session_factory(engine, OutboxSignal())

    yield migrate
    for engine in engines:
        await engine.dispose()


@pytest.fixture
async def sessions(
    request: pytest.FixtureRequest, migrated_sessions: MigratedSessions
) -> async_sessionmaker[AsyncSession]:
    """Sessions on a database built by the migrations of the service whose own tests
    ask for it (``<service folder>/tests/``)."""
    folder = request.path.relative_to(request.config.rootpath).parts[0]
    spec = next((s for s in SERVICES if s.name == folder and s.database), None)
    if spec is None:
        raise pytest.UsageError(f"{request.node.nodeid}: 'sessions' is for a service's own tests")
    return await migrated_sessions(spec.migrations)
