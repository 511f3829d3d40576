"""The five services as real processes against real Kafka and PostgreSQL."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from customs_shared.services import GATEWAY, SERVICES
from deploy.local.cluster import REPO, ServiceProcess, service_env
from tests.support.ports import free_ports
from tests.support.postgres import PostgresServer

CLIENTS_FILE = REPO / "deploy" / "local" / "clients.json"


def demo_secret(client_id: str) -> str:
    return f"{client_id}-secret"


@dataclass
class Cluster:
    processes: dict[str, ServiceProcess]
    kafka_bootstrap: str
    postgres: PostgresServer
    signing_key_file: Path
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def gateway(self) -> str:
        return self.processes[GATEWAY.name].url

    def url(self, service: str) -> str:
        """The public listener: the API."""
        return self.processes[service].url

    def internal_url(self, service: str) -> str:
        """The internal listener: probes, metrics, API docs."""
        return self.processes[service].internal_url

    def token(self, client_id: str) -> str:
        if client_id not in self._tokens:
            response = httpx.post(
                f"{self.gateway}/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(client_id, demo_secret(client_id)),
                timeout=10,
            )
            response.raise_for_status()
            self._tokens[client_id] = response.json()["access_token"]
        return self._tokens[client_id]

    def forget_token(self, client_id: str) -> None:
        """Drops the cached token of ``client_id`` (after its tokens were revoked)."""
        self._tokens.pop(client_id, None)

    def client(self, client_id: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token(client_id)}"} if client_id else {}
        return httpx.Client(base_url=self.gateway, headers=headers, timeout=10)

    def restart(self, service: str) -> None:
        process = self.processes[service]
        process.start()
        process.wait_ready()


def start_cluster(
    *,
    tmp: Path,
    kafka_bootstrap: str,
    postgres: PostgresServer,
    extra_env: dict[str, str],
    ready_timeout: float = 60.0,
) -> Cluster:
    picked = free_ports(2 * len(SERVICES))
    ports = {spec.name: picked.pop() for spec in SERVICES}
    internal_ports = {spec.name: picked.pop() for spec in SERVICES}
    key_file = tmp / "gateway-signing-key.pem"
    processes: dict[str, ServiceProcess] = {}
    for spec in SERVICES:
        env = service_env(
            spec,
            ports=ports,
            internal_ports=internal_ports,
            kafka_bootstrap=kafka_bootstrap,
            database_url=postgres.url(spec.database) if spec.database else None,
            signing_key_file=key_file,
            clients_file=CLIENTS_FILE,
            extra={k.replace("{P}", spec.prefix): v for k, v in extra_env.items()},
        )
        processes[spec.name] = ServiceProcess(
            spec,
            env,
            tmp / "logs" / f"{spec.name}.log",
            ports[spec.name],
            internal_ports[spec.name],
        )
    # SERVICES lists the gateway first: the services fetch its JWKS.
    for process in processes.values():
        process.start()
    try:
        for process in processes.values():
            process.wait_ready(ready_timeout)
    except BaseException:  # no service left running when the cluster did not come up
        for process in reversed(list(processes.values())):
            process.stop()
        raise
    return Cluster(processes, kafka_bootstrap, postgres, key_file)


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met in {timeout}s")
        time.sleep(interval)


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
