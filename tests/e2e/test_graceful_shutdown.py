"""SIGTERM: in-flight requests finish, handled records' offsets are committed,
and a client retrying with its Idempotency-Key loses nothing across the restart."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
import uuid

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from tests.support.cluster import Cluster, wait_for
from tests.support.samples import sample

pytestmark = pytest.mark.e2e

ROUTING_TOPICS = {"customs.declarations.v1", "customs.signatures.v1", "customs.ipr.v1"}


def submit_with_retries(cluster: Cluster, keys: list[str], accepted: dict[str, str]) -> None:
    with cluster.client("demo-broker") as client:
        for key in keys:
            for _ in range(200):
                try:
                    response = client.post(
                        "/api/v1/declarations",
                        json=sample("declaration-individual"),
                        headers={"Idempotency-Key": key},
                    )
                except httpx.TransportError:
                    response = None
                if response is not None and response.status_code == 202:
                    accepted[key] = response.json()["id"]
                    break
                time.sleep(0.05)  # the service is restarting: retry the same key


def test_declaration_service_restart_loses_nothing(cluster: Cluster) -> None:
    keys = [str(uuid.uuid4()) for _ in range(30)]
    accepted: dict[str, str] = {}
    worker = threading.Thread(target=submit_with_retries, args=(cluster, keys, accepted))
    worker.start()
    wait_for(lambda: len(accepted) >= 8, timeout=20)
    service = cluster.processes["declaration-svc"]
    # uvicorn re-raises SIGTERM after its graceful shutdown, hence -15 rather than 0;
    # the lifespan's last log line proves the shutdown ran to the end.
    assert service.stop() == -signal.SIGTERM
    assert '"message": "service stopped"' in service.log_tail(60)
    cluster.restart("declaration-svc")
    worker.join(timeout=60)

    assert sorted(accepted) == sorted(keys)
    assert len(set(accepted.values())) == len(keys)
    with cluster.client("demo-broker") as client:

        def all_laned() -> bool:
            return all(
                client.get(f"/api/v1/declarations/{i}").json()["lane"] for i in accepted.values()
            )

        wait_for(all_laned, timeout=30, interval=0.3)
        for declaration_id in accepted.values():
            timeline = client.get(f"/api/v1/declarations/{declaration_id}").json()["timeline"]
            assert [t["event"] for t in timeline].count("lane_assigned") == 1


async def committed_and_end_offsets(
    bootstrap: str, group: str
) -> tuple[dict[str, int], dict[str, int]]:
    from aiokafka import AIOKafkaConsumer

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        partitions = [tp for tp in committed if tp.topic in ROUTING_TOPICS]
        ends = await consumer.end_offsets(partitions)
        return (
            {f"{tp.topic}/{tp.partition}": committed[tp].offset for tp in partitions},
            {f"{tp.topic}/{tp.partition}": ends[tp] for tp in partitions},
        )
    finally:
        await consumer.stop()
        await admin.close()


def test_sigterm_commits_the_offsets_of_everything_handled(cluster: Cluster) -> None:
    with cluster.client("demo-broker") as client:
        ids = [
            client.post("/api/v1/declarations", json=sample("declaration-individual")).json()["id"]
            for _ in range(10)
        ]
        wait_for(
            lambda: all(client.get(f"/api/v1/declarations/{i}").json()["lane"] for i in ids),
            timeout=30,
            interval=0.3,
        )
    router = cluster.processes["routing-svc"]
    assert router.stop() == -signal.SIGTERM
    assert '"message": "service stopped"' in router.log_tail(60)
    try:
        committed, ends = asyncio.run(
            committed_and_end_offsets(cluster.kafka_bootstrap, "routing-svc")
        )
        assert committed, "routing-svc has no committed offsets"
        assert {topic.split("/")[0] for topic in committed} == ROUTING_TOPICS
        lagging = {tp: (committed[tp], ends[tp]) for tp in committed if committed[tp] != ends[tp]}
        assert not lagging, f"uncommitted records after a clean stop: {lagging}"
    finally:
        cluster.restart("routing-svc")
