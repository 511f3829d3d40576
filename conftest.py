"""Session-wide infrastructure shared by every test folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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
        extra_env={"{P}LOG_LEVEL": "INFO", "ROUTING_SCREENING_TIMEOUT_SECONDS": "20"},
    )
    try:
        yield running
    finally:
        for process in reversed(list(running.processes.values())):
            process.stop()
