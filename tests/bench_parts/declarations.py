"""``make bench BENCH=declarations``: declaration-svc alone, behind no gateway, on
PostgreSQL and Kafka. 5-item declarations accepted per second (p50/p99), against a bare
FastAPI endpoint inserting one row in the same run. The other domain services are
stopped first, so only declaration-svc (and the idle gateway serving its JWKS) runs.

Two shapes, each against its own baseline:
- one process each, the service and the bare endpoint (so one core at most each): the
  recorded ``declarations.accepted_per_s`` and ``declarations.ratio_to_bare_insert``;
- REPLICAS of each (default: one per core), as the API is deployed (``DECLARATION_ROLE=api``
  replicas behind a Service), the connections dealt out to the replicas in turn: what the
  whole machine accepts, recorded beside as ``..._replicas``.

The load comes from tests/bench_parts/rawload.py (a raw HTTP/1.1 keep-alive client)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from customs_shared.services import SERVICES
from deploy.local.cluster import ServiceProcess
from tests.bench_parts import procstat, rawload, results
from tests.bench_parts.stack import postmaster, serve, wait_until_up
from tests.support import infra
from tests.support.cluster import Cluster, start_cluster
from tests.support.ports import free_ports
from tests.support.postgres import PostgresServer
from tests.support.samples import sample

CONNECTIONS = 16
SECONDS = 15.0
REPLICAS = int(os.environ.get("BENCH_DECLARATIONS_REPLICAS", "0")) or os.cpu_count() or 1
SERVICE = "declaration-svc"


def five_items() -> dict[str, Any]:
    body = sample("declaration-enterprise")
    item = body["items"][0]
    body["items"] = [{**item, "customs_value": "19200000"} for _ in range(5)]
    body["invoice"]["total"] = "96000000"
    return body


def request_bytes(host: str, port: int, path: str, token: str | None, body: bytes) -> bytes:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return rawload.request_bytes("POST", host, port, path, headers, body)


async def measure(
    targets: Sequence[rawload.Target], meter: procstat.CpuMeter | None = None
) -> dict[str, float]:
    return await rawload.measure(targets, SECONDS, CONNECTIONS, meter)


def api_replicas(cluster: Cluster, tmp: Path, count: int) -> list[ServiceProcess]:
    """``count`` more processes of declaration-svc serving its API only (``ROLE=api``, as
    the api Deployment runs), on ports of their own; started, not yet ready."""
    service = cluster.processes[SERVICE]
    prefix = service.spec.prefix
    ports = free_ports(2 * count)
    replicas = []
    for n in range(count):
        port, internal_port = ports[2 * n], ports[2 * n + 1]
        env = {
            **service.env,
            f"{prefix}PORT": str(port),
            f"{prefix}INTERNAL_PORT": str(internal_port),
            f"{prefix}ROLE": "api",
        }
        replica = ServiceProcess(
            service.spec, env, tmp / "logs" / f"{SERVICE}-api-{n}.log", port, internal_port
        )
        replica.start()
        replicas.append(replica)
    return replicas


@dataclass(frozen=True)
class Bare:
    """A bare endpoint's process."""

    pid: int
    port: int


@dataclass
class Shape:
    """One way of running both sides: how many processes of each, and what they gave."""

    replicas: int
    bare: dict[str, float]
    accepted: dict[str, float]
    cpu_ms: dict[str, float]  # per declaration accepted: declaration-svc (all), postgresql
    bare_cpu_ms: dict[str, float]  # per row the bare endpoints inserted: theirs, postgresql

    @property
    def ratio(self) -> float:
        return self.accepted["per_s"] / self.bare["per_s"]


async def _metered(
    targets: Sequence[rawload.Target], side: str, pids: dict[str, int], pg_pid: int
) -> tuple[dict[str, float], dict[str, float]]:
    """The load's figures, and the CPU per request over its window: ``side``'s processes
    (``pids``) together, and PostgreSQL (the postmaster's tree: every backend)."""
    meter = procstat.CpuMeter({**pids, "postgresql": pg_pid})
    figures = await measure(targets, meter)
    per = meter.ms_per(int(figures["requests"]))
    return figures, {side: sum(per[name] for name in pids), "postgresql": per["postgresql"]}


async def measure_shape(
    services: Sequence[ServiceProcess], bares: Sequence[Bare], token: str, pg_pid: int
) -> Shape:
    """The bare endpoints, then the services, each side's connections dealt out to its
    processes. CPU of each side's processes and of PostgreSQL over that side's window."""
    body = json.dumps(five_items()).encode()
    host = "127.0.0.1"
    bare, bare_cpu_ms = await _metered(
        [(host, b.port, request_bytes(host, b.port, "/rows", None, body)) for b in bares],
        "bare endpoint",
        {f"bare {n}": b.pid for n, b in enumerate(bares)},
        pg_pid,
    )
    path = "/api/v1/declarations"
    accepted, cpu_ms = await _metered(
        [(host, s.port, request_bytes(host, s.port, path, token, body)) for s in services],
        SERVICE,
        {f"{SERVICE} {n}": s.process.pid for n, s in enumerate(services) if s.process},
        pg_pid,
    )
    return Shape(len(services), bare, accepted, cpu_ms, bare_cpu_ms)


def report(shapes: Sequence[Shape]) -> None:
    out = sys.stdout
    out.write(
        f"\n{'':<44} {'processes':>9} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'client CPU ms':>14}\n"
    )
    for shape in shapes:
        for name, figures in (
            ("baseline: bare FastAPI insert of one row", shape.bare),
            ("declarations accepted (5 items, direct)", shape.accepted),
        ):
            out.write(
                f"{name:<44} {shape.replicas:>9} {figures['per_s']:8.0f} "
                f"{figures['p50_ms']:8.2f} {figures['p99_ms']:8.2f} "
                f"{figures['client_cpu_ms']:14.3f}\n"
            )
        out.write(f"{'ratio accepted / bare insert':<44} {shape.replicas:>9} {shape.ratio:8.2f}\n")
    for shape in shapes:
        # Printed, not recorded: it compares code on a host whose speed drifts more than
        # the rate shows.
        cpu = ", ".join(f"{name} {value:.2f}" for name, value in shape.cpu_ms.items())
        out.write(f"CPU per declaration accepted, {shape.replicas} process(es) (ms): {cpu}\n")
        bare = ", ".join(f"{name} {value:.2f}" for name, value in shape.bare_cpu_ms.items())
        out.write(f"CPU per bare insert, {shape.replicas} process(es) (ms): {bare}\n")
    out.write("(goals, one process: 1,000/s, ratio 0.5)\n")


def figures(one: Shape, replicas: Shape | None) -> dict[str, dict[str, Any]]:
    """The recorded figures: the one-process shape's, and the replicas' beside."""

    def rate(shape: Shape) -> dict[str, Any]:
        return {
            "value": round(shape.accepted["per_s"], 1),
            "unit": "per_s",
            "baseline": round(shape.bare["per_s"], 1),
            "ratio": round(shape.ratio, 3),
        }

    def ratio(shape: Shape) -> dict[str, Any]:
        return {"value": round(shape.ratio, 3), "unit": "ratio", "baseline": None, "ratio": None}

    recorded = {
        "declarations.accepted_per_s": rate(one),
        "declarations.ratio_to_bare_insert": ratio(one),
    }
    if replicas is not None:
        recorded["declarations.accepted_per_s_replicas"] = rate(replicas)
        recorded["declarations.ratio_to_bare_insert_replicas"] = ratio(replicas)
    return recorded


async def run(cluster: Cluster, postgres: PostgresServer, bares: Sequence[Bare]) -> None:
    """One process of each side, then as many of each as there are ``bares``."""
    for name in ("signature-svc", "ipr-svc", "routing-svc"):
        cluster.processes[name].stop()
    token = cluster.token("demo-broker")
    service = cluster.processes[SERVICE]
    for bare in bares:
        await wait_until_up("127.0.0.1", bare.port)
    pg_pid = postmaster(postgres)
    one = await measure_shape([service], bares[:1], token, pg_pid)
    replicated = None
    if len(bares) > 1:
        with tempfile.TemporaryDirectory(prefix="customs-bench-replicas-") as tmp:
            more = api_replicas(cluster, Path(tmp), len(bares) - 1)
            try:
                for replica in more:
                    await asyncio.to_thread(replica.wait_ready)
                replicated = await measure_shape([service, *more], bares, token, pg_pid)
            finally:
                for replica in more:
                    replica.stop()
    report([one] if replicated is None else [one, replicated])
    results.merge(figures(one, replicated))


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
            bares: list[subprocess.Popen[bytes]] = []
            ports: list[int] = []
            try:
                for _ in range(REPLICAS):
                    bare, port = serve(
                        "tests.bench_parts.bare_insert:app",
                        {"BENCH_DATABASE_URL": pg.url("bench")},
                    )
                    bares.append(bare)
                    ports.append(port)
                served = [Bare(b.pid, port) for b, port in zip(bares, ports, strict=True)]
                asyncio.run(run(cluster, pg, served))
            finally:
                for bare in bares:
                    bare.terminate()
                    bare.wait(timeout=10)
                for process in reversed(list(cluster.processes.values())):
                    process.stop()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
