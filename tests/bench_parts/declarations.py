"""``make bench BENCH=declarations``: declaration-svc alone, behind no gateway, on
PostgreSQL and Kafka. 5-item declarations accepted per second (p50/p99), against a bare
FastAPI endpoint inserting one row in the same run. The other domain services are
stopped first, so only declaration-svc (and the idle gateway serving its JWKS) runs.

The load comes from a raw asyncio HTTP/1.1 keep-alive client: about 0.04 ms of CPU per
request, where httpx costs 1-3 ms and would be measured instead of the service."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from customs_shared.services import SERVICES
from tests.bench_parts import results
from tests.support import infra
from tests.support.cluster import Cluster, start_cluster
from tests.support.ports import free_port
from tests.support.samples import sample

CONNECTIONS = 16
SECONDS = 15.0
WARM_UP_SECONDS = 3.0


def five_items() -> dict[str, Any]:
    body = sample("declaration-enterprise")
    item = body["items"][0]
    body["items"] = [{**item, "customs_value": "19200000"} for _ in range(5)]
    body["invoice"]["total"] = "96000000"
    return body


def request_bytes(host: str, port: int, path: str, token: str | None, body: bytes) -> bytes:
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    if token:
        head.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _connection(
    host: str, port: int, request: bytes, until: float, latencies: list[float], bad: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status >= 300:
                bad.append(status)
    finally:
        writer.close()


async def load(host: str, port: int, request: bytes, seconds: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    bad: list[int] = []
    until = time.perf_counter() + seconds
    await asyncio.gather(
        *(_connection(host, port, request, until, latencies, bad) for _ in range(CONNECTIONS))
    )
    return latencies, len(bad)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


async def measure(host: str, port: int, request: bytes) -> dict[str, float]:
    await load(host, port, request, WARM_UP_SECONDS)
    cpu_before = time.process_time()
    latencies, bad = await load(host, port, request, SECONDS)
    if bad:
        raise RuntimeError(f"{bad} requests were refused")
    return {
        "per_s": len(latencies) / SECONDS,
        "p50_ms": pct(latencies, 0.5),
        "p99_ms": pct(latencies, 0.99),
        "client_cpu_ms": (time.process_time() - cpu_before) / len(latencies) * 1000,
    }


def bare_insert(database_url: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tests.bench_parts.bare_insert:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env={**os.environ, "BENCH_DATABASE_URL": database_url},
    )
    return process, port


async def wait_until_up(host: str, port: int) -> None:
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection(host, port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise TimeoutError("the bare endpoint did not start")


async def run(cluster: Cluster, bare_port: int) -> None:
    for name in ("signature-svc", "ipr-svc", "routing-svc"):
        cluster.processes[name].stop()
    token = cluster.token("demo-broker")
    service = cluster.processes["declaration-svc"]
    host, port = "127.0.0.1", int(service.url.rsplit(":", 1)[1])
    body = json.dumps(five_items()).encode()
    await wait_until_up(host, bare_port)
    bare = await measure(host, bare_port, request_bytes(host, bare_port, "/rows", None, body))
    accepted = await measure(
        host, port, request_bytes(host, port, "/api/v1/declarations", token, body)
    )
    ratio = accepted["per_s"] / bare["per_s"]
    print()  # noqa: T201
    print(f"{'':<44} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8} {'client CPU ms':>14}")  # noqa: T201
    for name, figures in (
        ("baseline: bare FastAPI insert of one row", bare),
        ("declarations accepted (5 items, direct)", accepted),
    ):
        print(  # noqa: T201
            f"{name:<44} {figures['per_s']:8.0f} {figures['p50_ms']:8.2f} "
            f"{figures['p99_ms']:8.2f} {figures['client_cpu_ms']:14.3f}"
        )
    print(f"{'ratio accepted / bare insert':<44} {ratio:8.2f}")  # noqa: T201
    results.merge(
        {
            "declarations.accepted_per_s": {
                "value": round(accepted["per_s"], 1),
                "unit": "per_s",
                "baseline": round(bare["per_s"], 1),
                "ratio": round(ratio, 3),
            },
            "declarations.ratio_to_bare_insert": {
                "value": round(ratio, 3),
                "unit": "ratio",
                "baseline": None,
                "ratio": None,
            },
        }
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="customs-bench-") as tmp:
        with (
            infra.kafka() as bootstrap,
            infra.postgres([s.database for s in SERVICES if s.database] + ["bench"]) as pg,
        ):
            cluster = start_cluster(
                tmp=Path(tmp),
                kafka_bootstrap=bootstrap,
                postgres=pg,
                extra_env={"{P}LOG_LEVEL": "WARNING"},
            )
            bare, bare_port = bare_insert(pg.url("bench"))
            try:
                asyncio.run(run(cluster, bare_port))
            finally:
                bare.terminate()
                bare.wait(timeout=10)
                for process in reversed(list(cluster.processes.values())):
                    process.stop()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
