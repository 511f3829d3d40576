"""``make bench BENCH=gateway``: the gateway's cost as a reverse proxy, its token
endpoint, and partner event ingress, on the running cluster (real Kafka and PostgreSQL).

- the same GET (a page of declarations) with the same concurrency, through the gateway
  and straight to declaration-svc, in the same run: requests per second, p50 and p99;
  figure ``gateway.ratio_to_direct`` (gateway rate / direct rate, goal ≥ 0.7);
- client-credentials tokens issued per second for a generated secret (HMAC-SHA-256,
  ``gateway.tokens_per_s``, goal ≥ 2,000), beside the argon2id demo secret's rate;
- partner events accepted per second, in batches of 100 (``gateway.partner_events_per_s``).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from customs_shared.services import DATABASE_SERVICES
from gateway.clients import new_client_secret
from tests.bench_parts import results
from tests.support import infra
from tests.support.cluster import CLIENTS_FILE, Cluster, demo_secret, start_cluster

SECONDS = 8.0
CONCURRENCY = 16
PARTNER = "demo-partner-agency"
PARTNER_SOURCE = "urn:customs:partner:vn-port-radiation"
BATCH = 100
MACHINE = "bench-machine"
PEPPER = "bench-pepper-" + "0" * 32
PARTNER_BATCHES = 20


async def _load(client: httpx.AsyncClient, path: str) -> tuple[float, list[float]]:
    """Requests per second and latencies (ms) of CONCURRENCY workers for SECONDS."""
    latencies: list[float] = []
    deadline = time.perf_counter() + SECONDS

    async def worker() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = await client.get(path)
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return len(latencies) / (time.perf_counter() - started), latencies


async def _tokens(gateway: str, client_id: str, secret: str, n: int) -> float:
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:

        async def one() -> None:
            response = await client.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(client_id, secret),
            )
            if response.status_code != 200:
                raise RuntimeError(f"token: {response.status_code} {response.text[:200]}")

        started = time.perf_counter()
        for _ in range(n // 4):
            await asyncio.gather(*(one() for _ in range(4)))
        return (n // 4 * 4) / (time.perf_counter() - started)


def _alarm() -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": PARTNER_SOURCE,
        "type": "customs.partner.radiation-alarm.v1",
        "time": datetime.now(UTC).isoformat(),
        "data": {
            "container_number": "CSQU3054383",
            "port": "VNHPH",
            "monitor_id": "RPM-07",
            "detected_at": datetime.now(UTC).isoformat(),
            "level": "alert",
        },
    }


async def _partner_events(cluster: Cluster) -> float:
    headers = {
        "Authorization": f"Bearer {cluster.token(PARTNER)}",
        "Content-Type": "application/cloudevents-batch+json",
    }
    async with httpx.AsyncClient(base_url=cluster.gateway, headers=headers, timeout=60) as client:

        async def batch() -> int:
            response = await client.post(
                "/api/v1/partner-events", content=json.dumps([_alarm() for _ in range(BATCH)])
            )
            if response.status_code != 202:
                raise RuntimeError(f"partner events: {response.status_code} {response.text[:300]}")
            accepted: int = response.json()["accepted"]
            return accepted

        await batch()  # warm-up: the producer starts on first use
        started = time.perf_counter()
        counts = await asyncio.gather(*(batch() for _ in range(PARTNER_BATCHES)))
        return sum(counts) / (time.perf_counter() - started)


def _pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


async def run(cluster: Cluster, machine_secret: str) -> dict[str, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {cluster.token('demo-broker')}"}
    limits = httpx.Limits(max_connections=CONCURRENCY * 2)
    path = "/api/v1/declarations?limit=1"
    async with (
        httpx.AsyncClient(base_url=cluster.gateway, headers=headers, limits=limits) as gw,
        httpx.AsyncClient(
            base_url=cluster.url("declaration-svc"), headers=headers, limits=limits
        ) as direct,
    ):
        for client in (gw, direct):  # warm-up: pools, JWKS, caches
            for _ in range(50):
                (await client.get(path)).raise_for_status()
        direct_rate, direct_ms = await _load(direct, path)
        gateway_rate, gateway_ms = await _load(gw, path)
    argon2_rate = await _tokens(cluster.gateway, "demo-broker", demo_secret("demo-broker"), 100)
    tokens_rate = await _tokens(cluster.gateway, MACHINE, machine_secret, 4000)
    partner_rate = await _partner_events(cluster)

    rows = (
        ("baseline: GET straight to declaration-svc", direct_rate, direct_ms),
        ("GET through the gateway", gateway_rate, gateway_ms),
    )
    print()  # noqa: T201
    for name, rate, ms in rows:
        print(  # noqa: T201
            f"{name:<46} {rate:8.1f} /s  p50 {_pct(ms, 50):6.1f} ms  p99 {_pct(ms, 99):6.1f} ms"
            f"  ({CONCURRENCY} clients)"
        )
    ratio = gateway_rate / direct_rate
    for text in (
        f"{'gateway / direct (goal >= 0.7)':<46} {ratio:8.3f}",
        f"{'tokens issued, generated secret (4 at once)':<46} {tokens_rate:8.1f} /s",
        f"{'tokens issued, argon2id demo secret (4 at once)':<46} {argon2_rate:8.1f} /s",
        f"{'partner events accepted (batches of 100)':<46} {partner_rate:8.1f} /s",
    ):
        print(text)  # noqa: T201
    return {
        "gateway.ratio_to_direct": {
            "value": round(ratio, 4), "unit": "ratio", "baseline": None, "ratio": None,
        },
        "gateway.requests_per_s": {
            "value": round(gateway_rate, 1), "unit": "per_s",
            "baseline": round(direct_rate, 1), "ratio": round(ratio, 4),
        },
        "gateway.tokens_per_s": {
            "value": round(tokens_rate, 1), "unit": "per_s", "baseline": 2000.0,
            "ratio": round(tokens_rate / 2000.0, 4),
        },
        "gateway.partner_events_per_s": {
            "value": round(partner_rate, 1), "unit": "per_s", "baseline": None, "ratio": None,
        },
    }  # fmt: skip


def _clients_with_a_generated_secret(folder: Path) -> tuple[Path, str]:
    """The demo clients plus one with a generated secret (HMAC-SHA-256 under PEPPER)."""
    data = json.loads(CLIENTS_FILE.read_text())
    secret, stored = new_client_secret(PEPPER.encode())
    data["clients"].append(
        {
            "client_id": MACHINE,
            "client_secret_hash": stored,
            "roles": ["officer"],
            "tenant": "customs-hq",
            "scopes": ["declarations:read"],
        }
    )
    path = folder / "clients.json"
    path.write_text(json.dumps(data))
    return path, secret


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="customs-bench-gw-") as tmp:
        clients_file, machine_secret = _clients_with_a_generated_secret(Path(tmp))
        with (
            infra.kafka() as bootstrap,
            infra.postgres([s.database for s in DATABASE_SERVICES if s.database]) as pg,
        ):
            cluster = start_cluster(
                tmp=Path(tmp),
                kafka_bootstrap=bootstrap,
                postgres=pg,
                extra_env={
                    "{P}LOG_LEVEL": "WARNING",
                    "GATEWAY_RATE_LIMIT_PER_MINUTE": "1000000",
                    "GATEWAY_TOKENS_ISSUED_PER_MINUTE_PER_CLIENT": "1000000",
                    "GATEWAY_TOKEN_REQUESTS_PER_MINUTE_PER_SOURCE": "1000000",
                    "GATEWAY_TOKEN_VERIFICATIONS_IN_FLIGHT_PER_SOURCE": "8",
                    "GATEWAY_CLIENTS_FILE": str(clients_file),
                    "GATEWAY_SECRET_PEPPER": PEPPER,
                },
            )
            try:
                figures = asyncio.run(run(cluster, machine_secret))
            finally:
                for process in reversed(list(cluster.processes.values())):
                    process.stop()
    results.merge(figures)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
