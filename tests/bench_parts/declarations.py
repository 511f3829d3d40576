"""``make bench BENCH=declarations``: declaration-svc alone, behind no gateway, on
PostgreSQL and Kafka. 5-item declarations accepted per second (p50/p99), against a bare
FastAPI endpoint inserting one row in the same run. The other domain services are
stopped first, so only declaration-svc (and the idle gateway serving its JWKS) runs.

The load comes from tests/bench_parts/rawload.py (a raw HTTP/1.1 keep-alive client)."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from customs_shared.services import SERVICES
from tests.bench_parts import procstat, rawload, results
from tests.bench_parts.stack import postmaster, serve, wait_until_up
from tests.support import infra
from tests.support.cluster import Cluster, start_cluster
from tests.support.postgres import PostgresServer
from tests.support.samples import sample

CONNECTIONS = 16
SECONDS = 15.0


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
    host: str, port: int, request: bytes, meter: procstat.CpuMeter | None = None
) -> dict[str, float]:
    return await rawload.measure(host, port, request, SECONDS, CONNECTIONS, meter)


async def run(cluster: Cluster, postgres: PostgresServer, bare_port: int) -> None:
    for name in ("signature-svc", "ipr-svc", "routing-svc"):
        cluster.processes[name].stop()
    token = cluster.token("demo-broker")
    service = cluster.processes["declaration-svc"]
    host, port = "127.0.0.1", int(service.url.rsplit(":", 1)[1])
    body = json.dumps(five_items()).encode()
    await wait_until_up(host, bare_port)
    bare = await measure(host, bare_port, request_bytes(host, bare_port, "/rows", None, body))
    # CPU per declaration of the service and of PostgreSQL (the postmaster's tree: every
    # backend). Printed, not recorded: it compares code on a host whose speed drifts more
    # than the rate shows.
    assert service.process is not None
    pids = {"declaration-svc": service.process.pid, "postgresql": postmaster(postgres)}
    meter = procstat.CpuMeter(pids)
    accepted = await measure(
        host, port, request_bytes(host, port, "/api/v1/declarations", token, body), meter
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
    cpu_ms = meter.ms_per(int(accepted["requests"]))
    cpu = ", ".join(f"{name} {cpu_ms[name]:.2f}" for name in pids)
    print(f"CPU per declaration accepted (ms): {cpu}")  # noqa: T201
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
            bare, bare_port = serve(
                "tests.bench_parts.bare_insert:app", {"BENCH_DATABASE_URL": pg.url("bench")}
            )
            try:
                asyncio.run(run(cluster, pg, bare_port))
            finally:
                bare.terminate()
                bare.wait(timeout=10)
                for process in reversed(list(cluster.processes.values())):
                    process.stop()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
