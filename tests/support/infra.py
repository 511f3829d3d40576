"""Kafka and PostgreSQL for the tests: local processes here (no Docker engine),
testcontainers where ``CUSTOMS_TEST_INFRA=containers`` and a Docker engine answer."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from deploy.local.cluster import create_topics, start_kafka, stop_kafka
from tests.support.postgres import PostgresServer, postgres_server

USE_CONTAINERS = os.environ.get("CUSTOMS_TEST_INFRA") == "containers"
PARTITIONS = int(os.environ.get("KAFKA_PARTITIONS", "6"))


@contextlib.contextmanager
def kafka() -> Iterator[str]:
    if USE_CONTAINERS:
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:
            bootstrap = str(container.get_bootstrap_server())
            create_topics(bootstrap, PARTITIONS)
            yield bootstrap
        return
    data_dir = Path(tempfile.mkdtemp(prefix="customs-kafka-"))
    bootstrap = start_kafka(data_dir, partitions=PARTITIONS)
    try:
        yield bootstrap
    finally:
        stop_kafka(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)


@contextlib.contextmanager
def postgres(databases: list[str]) -> Iterator[PostgresServer]:
    if USE_CONTAINERS:
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver=None) as container:
            server = PostgresServer(
                container.get_container_host_ip(),
                int(container.get_exposed_port(5432)),
                f"{container.username}:{container.password}",
            )
            for database in databases:
                container.exec(
                    ["psql", "-U", container.username, "-c", f'CREATE DATABASE "{database}"']
                )
            yield server
        return
    with postgres_server(databases) as server:
        yield server
