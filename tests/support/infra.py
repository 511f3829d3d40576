"""Kafka and PostgreSQL for the tests: local processes here (no Docker engine),
testcontainers where ``CUSTOMS_TEST_INFRA=containers`` and a Docker engine answer."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from customs_shared.events.catalog import TOPICS
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


def fresh_topics(bootstrap: str) -> None:
    """Deletes every catalog topic (and its DLQ twin) and creates them again, empty: the
    cluster then starts on no events but its own. Integration tests share the broker and
    leave events behind (partner alerts, IPR records…) that the cluster's consumers would
    otherwise read from the beginning."""
    asyncio.run(_fresh_topics(bootstrap))
    create_topics(bootstrap, PARTITIONS)


async def _fresh_topics(bootstrap: str) -> None:
    names = {name for topic in TOPICS for name in (topic.name, topic.dlq)}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="test-topic-reset")
    await admin.start()
    try:
        present = names & set(await admin.list_topics())
        if present:
            await admin.delete_topics(sorted(present))
        for _ in range(300):  # deletion is asynchronous; bounded at 30 s
            if not names & set(await admin.list_topics()):
                return
            await asyncio.sleep(0.1)
        raise TimeoutError("Kafka did not delete the topics in 30 s")
    finally:
        await admin.close()
