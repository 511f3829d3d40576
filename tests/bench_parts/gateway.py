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
import base64
import json
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from customs_shared.services import DATABASE_SERVICES
from gateway.clients import new_client_secret
from tests.bench_parts import rawload, results
from tests.support import infra
from tests.support.cluster import CLIENTS_FILE, Cluster, demo_secret, start_cluster

SECONDS = 8.0
CONNECTIONS = 16
ARGON2_CONNECTIONS = 2  # one per verification slot (a slot per core)
PARTNER = "demo-partner-agency"
PARTNER_SOURCE = "urn:customs:partner:vn-port-radiation"
BATCH = 100
MACHINE = "bench-machine"
PEPPER = "bench-pepper-" + "0" * 32
PARTNER_BATCHES = 20


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


async def _get(url: str, path: str, token: str) -> dict[str, float]:
    """The same GET, CONNECTIONS at a time for SECONDS."""
    host, port = _address(url)
    request = rawload.request_bytes("GET", host, port, path, {"Authorization": f"Bearer {token}"})
    return await rawload.measure([(host, port, request)], SECONDS, CONNECTIONS)


async def _tokens(
    url: str, client_id: str, secret: str, seconds: float, connections: int = CONNECTIONS
) -> dict[str, float]:
    """Client-credentials token requests (HTTP Basic), ``connections`` at a time."""
    host, port = _address(url)
    credentials = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    request = rawload.request_bytes(
        "POST",
        host,
        port,
        "/oauth/token",
        {
            "Authorization": f"Basic {credentials}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        b"grant_type=client_credentials",
    )
    return await rawload.measure([(host, port, request)], seconds, connections)


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


async def run(cluster: Cluster, machine_secret: str) -> dict[str, dict[str, Any]]:
    token = cluster.token("demo-broker")
    path = "/api/v1/declarations?limit=1"
    direct = await _get(cluster.url("declaration-svc"), path, token)
    through = await _get(cluster.gateway, path, token)
    # argon2id checks are bounded per source (GATEWAY_TOKEN_VERIFICATIONS_IN_FLIGHT_PER_SOURCE).
    argon2 = await _tokens(
        cluster.gateway, "demo-broker", demo_secret("demo-broker"), 3.0, ARGON2_CONNECTIONS
    )
    tokens = await _tokens(cluster.gateway, MACHINE, machine_secret, SECONDS)
    partner_rate = await _partner_events(cluster)

    print()  # noqa: T201
    for name, figures in (
        ("baseline: GET straight to declaration-svc", direct),
        ("GET through the gateway", through),
        ("tokens issued, generated secret", tokens),
        ("tokens issued, argon2id demo secret", argon2),
    ):
        print(  # noqa: T201
            f"{name:<44} {figures['per_s']:8.1f} /s  p50 {figures['p50_ms']:6.1f} ms"
            f"  p99 {figures['p99_ms']:6.1f} ms  load generator {figures['client_cpu_ms']:.3f}"
            f" ms CPU/request  ({CONNECTIONS} connections)"
        )
    ratio = through["per_s"] / direct["per_s"]
    print(f"{'gateway / direct (goal >= 0.7)':<44} {ratio:8.3f}")  # noqa: T201
    print(f"{'partner events accepted (batches of 100)':<44} {partner_rate:8.1f} /s")  # noqa: T201
    return {
        "gateway.ratio_to_direct": {
            "value": round(ratio, 4), "unit": "ratio", "baseline": None, "ratio": None,
        },
        "gateway.requests_per_s": {
            "value": round(through["per_s"], 1), "unit": "per_s",
            "baseline": round(direct["per_s"], 1), "ratio": round(ratio, 4),
        },
        "gateway.tokens_per_s": {
            "value": round(tokens["per_s"], 1), "unit": "per_s", "baseline": 2000.0,
            "ratio": round(tokens["per_s"] / 2000.0, 4),
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
