"""The system the pipeline benchmarks (e2e, profile, soak) load: Kafka, PostgreSQL, the
test PKI, every service as a process (tests/support/cluster.py), enterprise A's signing
certificate registered and the sample's e-C/O pushed (so the sample goes green as in
production, nothing failing on the way), and optionally the bare baseline endpoint.

Declarations are validly signed (ECDSA P-256 over the RFC 8785 canonical JSON, as
``signed()`` does with ``openssl cms``, but in process: the generator makes thousands) and
each carries its own invoice number, so nothing downstream sees the same declaration twice."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import itertools
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, load_pem_private_key, pkcs7

from customs_shared.canonical import signed_bytes
from customs_shared.services import SERVICES
from tests.bench_parts import laneload, procstat
from tests.support import infra
from tests.support.cluster import Cluster, start_cluster
from tests.support.partners import PARTNER, push_and_wait_until_handled, sample_origin_certificate
from tests.support.pki import Pki, Signer, build_pki, register_signers
from tests.support.ports import free_port
from tests.support.postgres import PostgresServer
from tests.support.samples import sample

BARE_DATABASE = "bench"
READY_SECONDS = 180.0  # five services importing at once on two busy cores can take minutes


def _signer(signer: Signer) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    certificate = x509.load_pem_x509_certificate(signer.cert.read_bytes())
    key = load_pem_private_key(signer.key.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return certificate, key


def declaration_bodies(pki: Pki, tag: str) -> Iterator[bytes]:
    """Endless enterprise declarations (samples/declaration-enterprise.json), the n-th
    with invoice number ``<tag>-<n>``, each signed by enterprise A's ECDSA certificate."""
    certificate, key = _signer(pki.enterprise_a_ec)
    base = sample("declaration-enterprise")
    base.pop("signature", None)
    options = [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary]
    for n in itertools.count():
        body: dict[str, Any] = copy.deepcopy(base)
        body["invoice"]["number"] = f"{tag}-{n:07d}"
        signature = (
            pkcs7.PKCS7SignatureBuilder()
            .set_data(signed_bytes(body))
            .add_signer(certificate, key, hashes.SHA256())
            .sign(Encoding.DER, options)
        )
        body["signature"] = base64.b64encode(signature).decode()
        yield json.dumps(body).encode()


def prepared(bodies: Iterator[bytes], count: int) -> Iterator[bytes]:
    """The first ``count`` bodies made now (outside any measured window), then the rest."""
    return itertools.chain(list(itertools.islice(bodies, count)), bodies)


def bare_bodies() -> Iterator[bytes]:
    body = json.dumps(sample("declaration-enterprise")).encode()
    return itertools.repeat(body)


@dataclass
class Stack:
    cluster: Cluster
    pki: Pki
    postgres: PostgresServer
    bare: subprocess.Popen[bytes] | None
    bare_port: int
    postmaster_pid: int
    kafka_pid: int
    databases: list[str]  # the services' own

    def processes(self) -> dict[str, int]:
        """Every process of the system under test: name → pid (a tree's root)."""
        pids = {
            name: service.process.pid
            for name, service in self.cluster.processes.items()
            if service.process is not None
        }
        return {**pids, "postgresql": self.postmaster_pid, "kafka": self.kafka_pid}

    def declarations(self, tag: str, prepare: int = 0) -> laneload.Target:
        """POST /api/v1/declarations through the gateway as the demo broker."""
        host, port = _address(self.cluster.gateway)
        bodies = declaration_bodies(self.pki, tag)
        return laneload.Target(
            host,
            port,
            "/api/v1/declarations",
            {
                "Authorization": f"Bearer {self.cluster.token('demo-broker')}",
                "Content-Type": "application/json",
            },
            prepared(bodies, prepare) if prepare else bodies,
        )

    def baseline(self) -> laneload.Target:
        return laneload.Target(
            "127.0.0.1",
            self.bare_port,
            "/rows",
            {"Content-Type": "application/json"},
            bare_bodies(),
        )


def _address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def postmaster(postgres: PostgresServer) -> int:
    """The postmaster's pid: the parent of any backend."""
    with psycopg.connect(postgres.url(BARE_DATABASE, driver="postgresql")) as connection:
        row = connection.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        # Read while the connection is open: once closed, its backend exits.
        return procstat.parent_pid(int(row[0]))


def serve(app: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    """Runs the ASGI ``app`` (``module:attribute``) under uvicorn on a free port, quiet:
    the bare endpoints the benchmarks measure the services against."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env={**os.environ, **env},
    )
    return process, port


def _start_bare(postgres: PostgresServer, bootstrap: str) -> tuple[subprocess.Popen[bytes], int]:
    return serve(
        "tests.bench_parts.bare_pipeline:app",
        {
            "BENCH_DATABASE_URL": postgres.url(BARE_DATABASE),
            "BENCH_KAFKA_BOOTSTRAP": bootstrap,
        },
    )


def _prime(cluster: Cluster, pki: Pki) -> None:
    with cluster.client("demo-admin") as admin:
        register_signers(admin, pki)
    with cluster.client(PARTNER) as partner:
        push_and_wait_until_handled(partner, sample_origin_certificate())


@contextlib.contextmanager
def stack(*, bare: bool = True) -> Iterator[Stack]:
    databases = [s.database for s in SERVICES if s.database] + [BARE_DATABASE]
    with (
        tempfile.TemporaryDirectory(prefix="customs-bench-") as tmp,
        infra.kafka() as bootstrap,
        infra.postgres(databases) as pg,
    ):
        pki = build_pki(Path(tmp) / "pki")
        cluster = start_cluster(
            tmp=Path(tmp),
            kafka_bootstrap=bootstrap,
            postgres=pg,
            extra_env={
                "{P}LOG_LEVEL": "WARNING",
                "GATEWAY_RATE_LIMIT_PER_MINUTE": "10000000",
                "GATEWAY_TOKEN_TTL_SECONDS": "7200",  # outlives a soak
                **pki.signature_env(),
            },
            ready_timeout=READY_SECONDS,
        )
        bare_process, bare_port = _start_bare(pg, bootstrap) if bare else (None, 0)
        try:
            _prime(cluster, pki)
            yield Stack(
                cluster,
                pki,
                pg,
                bare_process,
                bare_port,
                postmaster(pg),
                procstat.listening_pid(_address("http://" + bootstrap)[1]),
                [s.database for s in SERVICES if s.database],
            )
        finally:
            if bare_process is not None:
                bare_process.terminate()
                bare_process.wait(timeout=10)
            for process in reversed(list(cluster.processes.values())):
                process.stop()


async def wait_until_up(host: str, port: int) -> None:
    for _ in range(400):  # 20 s
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection(host, port)
            writer.close()
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"nothing answers on {host}:{port}")
