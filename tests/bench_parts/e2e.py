"""``make bench``: latency and throughput of the cluster on real Kafka and PostgreSQL,
each against a baseline measured in the same run on the same machine.

  submit via gateway  vs  the same POST straight to declaration-svc   (gateway overhead)
  submit → lane       vs  one Kafka produce → consume hop             (pipeline = 4 hops)
  throughput          declarations per second, submitted to laned, 16 clients at once
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from customs_shared.services import SERVICES
from tests.support import infra
from tests.support.cluster import Cluster, start_cluster
from tests.support.samples import sample, signed

SEQUENTIAL = 200
PIPELINE = 100
THROUGHPUT = int(os.environ.get("N", "600"))
CONCURRENCY = 16


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def line(name: str, values: list[float]) -> str:
    return (
        f"{name:<44} p50 {pct(values, 0.5):7.2f} ms   p95 {pct(values, 0.95):7.2f} ms"
        f"   mean {statistics.fmean(values) * 1000:7.2f} ms   n={len(values)}"
    )


def ratio(name: str, measured: list[float], baseline: list[float]) -> str:
    return f"  {name:<42} x{pct(measured, 0.5) / pct(baseline, 0.5):.2f}"


async def timed_posts(client: httpx.AsyncClient, url: str, n: int) -> list[float]:
    body = signed(sample("declaration-enterprise"))
    times = []
    for _ in range(n):
        started = time.perf_counter()
        response = await client.post(url, json=body)
        times.append(time.perf_counter() - started)
        assert response.status_code == 202, response.text
    return times


async def kafka_hop(bootstrap: str, n: int) -> list[float]:
    topic = "customs.partner-events.v1.dlq"  # an idle topic; the services never read it
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="latest")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await consumer.start()
    await producer.start()
    try:
        await consumer.seek_to_end()
        times = []
        for _ in range(n):
            key = uuid.uuid4().bytes
            started = time.perf_counter()
            await producer.send_and_wait(topic, b"x", key=key)
            async for record in consumer:
                if record.key == key:
                    break
            times.append(time.perf_counter() - started)
        return times
    finally:
        await producer.stop()
        await consumer.stop()


async def lane_one_at_a_time(cluster: Cluster, client: httpx.AsyncClient, n: int) -> list[float]:
    """Submit, wait for that declaration's lane event, then the next: latency without queueing."""
    consumer = AIOKafkaConsumer(
        "customs.lanes.v1", bootstrap_servers=cluster.kafka_bootstrap, auto_offset_reset="latest"
    )
    await consumer.start()
    await consumer.seek_to_end()
    body = signed(sample("declaration-enterprise"))
    latencies = []
    try:
        for _ in range(n):
            started = time.perf_counter()
            declaration_id = (await client.post("/api/v1/declarations", json=body)).json()["id"]
            async for record in consumer:
                if record.key and record.key.decode() == declaration_id:
                    break
            latencies.append(time.perf_counter() - started)
    finally:
        await consumer.stop()
    return latencies


async def lanes_under_load(
    cluster: Cluster, client: httpx.AsyncClient, n: int, concurrency: int
) -> tuple[list[float], float]:
    """``concurrency`` clients submit ``n`` declarations as fast as they can."""
    consumer = AIOKafkaConsumer(
        "customs.lanes.v1", bootstrap_servers=cluster.kafka_bootstrap, auto_offset_reset="latest"
    )
    await consumer.start()
    await consumer.seek_to_end()
    submitted: dict[str, float] = {}
    latencies: list[float] = []
    body = signed(sample("declaration-enterprise"))
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            queue.get_nowait()
            started = time.perf_counter()
            response = await client.post("/api/v1/declarations", json=body)
            submitted[response.json()["id"]] = started

    started = time.perf_counter()
    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    try:
        async for record in consumer:
            key = record.key.decode() if record.key else ""
            if key in submitted:
                latencies.append(time.perf_counter() - submitted.pop(key))
                if len(latencies) == n:
                    break
        await asyncio.gather(*workers)
    finally:
        await consumer.stop()
    return latencies, n / (time.perf_counter() - started)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_service(cluster: Cluster) -> dict[str, float]:
    return {
        name: cpu_seconds(process.process.pid)
        for name, process in cluster.processes.items()
        if process.process is not None
    }


async def drain(bootstrap: str, expected: int) -> None:
    """Waits until ``expected`` lanes were published, so the pipeline's backlog from one
    phase does not slow the next phase down."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await producer.start()
    await consumer.start()
    try:
        partitions = [
            TopicPartition("customs.lanes.v1", p)
            for p in await producer.partitions_for("customs.lanes.v1")
        ]
        for _ in range(600):
            if sum((await consumer.end_offsets(partitions)).values()) >= expected:
                return
            await asyncio.sleep(0.1)
        raise TimeoutError(f"fewer than {expected} lanes after 60 s")
    finally:
        await consumer.stop()
        await producer.stop()


async def run(cluster: Cluster) -> None:
    token = cluster.token("demo-broker")
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=CONCURRENCY * 2)
    async with (
        httpx.AsyncClient(
            base_url=cluster.gateway, headers=headers, limits=limits, timeout=30
        ) as gw,
        httpx.AsyncClient(
            base_url=cluster.url("declaration-svc"), headers=headers, timeout=30
        ) as direct,
    ):
        bootstrap = cluster.kafka_bootstrap
        await timed_posts(gw, "/api/v1/declarations", 20)  # warm-up: pools, JWKS, caches
        await timed_posts(direct, "/api/v1/declarations", 20)
        await drain(bootstrap, 40)
        baseline_post = await timed_posts(direct, "/api/v1/declarations", SEQUENTIAL)
        await drain(bootstrap, 40 + SEQUENTIAL)
        gateway_post = await timed_posts(gw, "/api/v1/declarations", SEQUENTIAL)
        await drain(bootstrap, 40 + 2 * SEQUENTIAL)
        hop = await kafka_hop(cluster.kafka_bootstrap, PIPELINE)
        sequential_lanes = await lane_one_at_a_time(cluster, gw, PIPELINE)
        cpu_before = cpu_by_service(cluster)
        loaded_lanes, rate = await lanes_under_load(cluster, gw, THROUGHPUT, CONCURRENCY)
        cpu_after = cpu_by_service(cluster)

    print()  # noqa: T201
    for text in (
        line("baseline: POST straight to declaration-svc", baseline_post),
        line("POST /api/v1/declarations via gateway", gateway_post),
        ratio("gateway overhead (p50 ratio)", gateway_post, baseline_post),
        line("baseline: one Kafka produce→consume hop", hop),
        line("submit → lane assigned (one at a time)", sequential_lanes),
        ratio("pipeline vs one hop (p50 ratio)", sequential_lanes, hop),
        line(f"submit → lane assigned ({CONCURRENCY} clients)", loaded_lanes),
        f"{'throughput, submitted to laned':<44} {rate:7.1f} declarations/s (n={THROUGHPUT})",
    ):
        print(text)  # noqa: T201
    print("CPU per declaration under load, by service:")  # noqa: T201
    for name, before in cpu_before.items():
        per = (cpu_after[name] - before) / THROUGHPUT * 1000
        print(f"  {name:<42} {per:7.2f} ms")  # noqa: T201


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="customs-bench-") as tmp:
        with (
            infra.kafka() as bootstrap,
            infra.postgres([s.database for s in SERVICES if s.database]) as pg,
        ):
            cluster = start_cluster(
                tmp=Path(tmp),
                kafka_bootstrap=bootstrap,
                postgres=pg,
                extra_env={"{P}LOG_LEVEL": "WARNING", "GATEWAY_RATE_LIMIT_PER_MINUTE": "100000"},
            )
            try:
                asyncio.run(run(cluster))
            finally:
                for process in reversed(list(cluster.processes.values())):
                    process.stop()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
