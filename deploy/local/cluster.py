"""Runs the whole cluster on one machine without Docker: Kafka from Maven Central,
the five services as processes. ``make run`` calls ``main()``; the end-to-end tests
use the same ``ServiceProcess`` and ``service_env`` with PostgreSQL instead of SQLite."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from customs_shared.services import GATEWAY, SERVICES, SIGNATURE, ServiceSpec
from deploy.local.pki import ensure_pki

REPO = Path(__file__).resolve().parents[2]
KAFKA_SCRIPT = REPO / "deploy" / "local" / "kafka" / "kafka.sh"
BASH = shutil.which("bash") or "/bin/bash"


def service_env(
    spec: ServiceSpec,
    *,
    ports: Mapping[str, int],
    internal_ports: Mapping[str, int],
    kafka_bootstrap: str,
    database_url: str | None,
    signing_key_file: Path,
    clients_file: Path,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    p = spec.prefix
    env = {
        f"{p}PORT": str(ports[spec.name]),
        f"{p}INTERNAL_PORT": str(internal_ports[spec.name]),
        f"{p}HOST": "127.0.0.1",
        f"{p}KAFKA_BOOTSTRAP": kafka_bootstrap,
        f"{p}JWKS_URL": f"http://127.0.0.1:{ports[GATEWAY.name]}/.well-known/jwks.json",
    }
    if database_url is not None:
        env[f"{p}DATABASE_URL"] = database_url
    if spec is GATEWAY:
        env[f"{p}SIGNING_KEY_FILE"] = str(signing_key_file)
        env[f"{p}CLIENTS_FILE"] = str(clients_file)
        env[f"{p}UPSTREAMS"] = json.dumps(
            {s.api: f"http://127.0.0.1:{ports[s.name]}" for s in SERVICES if s.api}
        )
    env.update(extra or {})
    return env


@dataclass
class ServiceProcess:
    spec: ServiceSpec
    env: dict[str, str]
    log_path: Path
    port: int
    internal_port: int
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The public listener: the API."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def internal_url(self) -> str:
        """The internal listener: /healthz, /readyz, /metrics, /docs, /openapi.json."""
        return f"http://127.0.0.1:{self.internal_port}"

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603  (our own interpreter and module)
            [sys.executable, "-m", self.spec.package],
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        log.close()

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.spec.name} exited:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.internal_url}/readyz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.spec.name} not ready in {timeout}s:\n{self.log_tail()}")

    def signal(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (graceful: finish requests, commit offsets, flush outbox), then wait."""
        if self.process is None:
            return None
        self.signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def kill(self) -> None:
        """SIGKILL: no cleanup at all, as when a node dies."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def start_kafka(data_dir: Path, port: str = "auto", partitions: int = 6) -> str:
    """Starts the broker (kafka.sh), which also creates every catalog topic."""
    env = {
        **os.environ,
        "KAFKA_DATA_DIR": str(data_dir),
        "KAFKA_PORT": port,
        "KAFKA_PARTITIONS": str(partitions),
    }
    out = subprocess.run(  # noqa: S603
        [BASH, str(KAFKA_SCRIPT), "start"], env=env, check=True, capture_output=True, text=True
    ).stdout
    for line in out.splitlines():
        if line.startswith("KAFKA_BOOTSTRAP="):
            return line.split("=", 1)[1].strip()
    raise RuntimeError(f"kafka.sh printed no bootstrap address: {out!r}")


def stop_kafka(data_dir: Path) -> None:
    env = {**os.environ, "KAFKA_DATA_DIR": str(data_dir)}
    subprocess.run([BASH, str(KAFKA_SCRIPT), "stop"], env=env, check=False)  # noqa: S603


def create_topics(bootstrap: str, partitions: int) -> None:
    from customs_shared.messaging.kafka import ensure_topics

    asyncio.run(ensure_topics(bootstrap, partitions=partitions))


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the cluster locally (SQLite, local Kafka).")
    parser.add_argument("--run-dir", default=str(REPO / ".run"))
    parser.add_argument("--kafka-port", default=os.environ.get("KAFKA_PORT", "9092"))
    parser.add_argument(
        "--base-port",
        type=int,
        default=int(os.environ.get("CLUSTER_BASE_PORT", "8000")),
        help="gateway port; the services take the next ports",
    )
    parser.add_argument(
        "--internal-base-port",
        type=int,
        default=int(os.environ.get("CLUSTER_INTERNAL_BASE_PORT", "0")) or None,
        help="the gateway's internal port (probes, metrics, docs); the services take the "
        "next ports. Default: the base port + 1000",
    )
    parser.add_argument(
        "--partitions", type=int, default=int(os.environ.get("KAFKA_PARTITIONS", "6"))
    )
    args = parser.parse_args()
    run_dir = Path(args.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    # A throwaway PKI (deploy/local/pki.py) that signature-svc trusts in the local run only.
    trust_env = ensure_pki(run_dir / "pki").signature_env()
    kafka_dir = run_dir / "kafka"
    bootstrap = start_kafka(kafka_dir, args.kafka_port, args.partitions)
    kafka_ready = time.monotonic() - started
    # Every port moves with the gateway's, keeping the default layout's offsets.
    ports = {spec.name: spec.port - GATEWAY.port + args.base_port for spec in SERVICES}
    internal_base = args.internal_base_port or args.base_port + 1000
    internal_ports = {
        spec.name: spec.internal_port - GATEWAY.internal_port + internal_base for spec in SERVICES
    }
    processes = [
        ServiceProcess(
            spec,
            service_env(
                spec,
                ports=ports,
                internal_ports=internal_ports,
                kafka_bootstrap=bootstrap,
                database_url=(
                    f"sqlite+aiosqlite:///{run_dir / (spec.database + '.db')}"
                    if spec.database
                    else None
                ),
                signing_key_file=run_dir / "gateway-signing-key.pem",
                clients_file=REPO / "deploy" / "local" / "clients.json",
                extra=trust_env if spec is SIGNATURE else None,
            ),
            run_dir / "logs" / f"{spec.name}.log",
            ports[spec.name],
            internal_ports[spec.name],
        )
        for spec in SERVICES
    ]
    stopping = False

    def request_stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        # SERVICES lists the gateway first: the services fetch its JWKS.
        for process in processes:
            process.start()
        for process in processes:
            process.wait_ready()
        by_name = {p.spec.name: p for p in processes}
        gateway = by_name[GATEWAY.name]
        internal = ", ".join(f"{p.spec.name} {p.internal_port}" for p in processes)
        docs = ", ".join(f"{p.internal_url}/docs" for p in processes if p.spec.api)
        print(  # noqa: T201  (this is the command's own output)
            f"\nCluster ready in {time.monotonic() - started:.1f}s "
            f"(Kafka and topics {kafka_ready:.1f}s).\n"
            f"  Gateway:  {gateway.url}\n"
            f"  Internal: {gateway.internal_url}/metrics, /readyz, /healthz, /docs "
            "(not for the public edge)\n"
            f"            ports: {internal}\n"
            f"  OpenAPI:  {docs}\n"
            f"  Kafka:    {bootstrap}\n"
            f"  Logs:     {run_dir / 'logs'}/\n"
            f"  Token:    curl -s -u demo-broker:demo-broker-secret "
            f"-d grant_type=client_credentials {gateway.url}/oauth/token\n"
            "Ctrl-C stops everything.",
            flush=True,
        )
        while not stopping:
            for process in processes:
                if process.process is not None and process.process.poll() is not None:
                    print(f"{process.spec.name} exited; see {process.log_path}", flush=True)  # noqa: T201
                    stopping = True
            time.sleep(0.5)
    finally:
        for process in reversed(processes):
            process.stop()
        stop_kafka(kafka_dir)
        print("Cluster stopped.", flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
