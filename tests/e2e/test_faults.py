"""Faults on real Kafka and PostgreSQL, with a stream of declarations flowing.

The module runs its own broker, database and cluster (killing the shared ones would break
the other tests). In turn each service, the gateway, the broker and PostgreSQL is
SIGKILLed and restarted on the same ports and data while submitters keep sending
declarations (some amended, some with a signed document), retrying with the same
Idempotency-Key until they get a 2xx. After each restart the cluster must carry a new
declaration to its lane within 30 s, and once the stream stops: every accepted
declaration has exactly one current lane for its latest version, every outbox event was
handled by each consumer group of its type (processed-event ids), and the DLQs are
empty. Then a stalled consumer and a full Kafka log directory must show in /readyz and
/metrics."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from customs_shared.services import DATABASE_SERVICES, SERVICES
from deploy.local.cluster import start_kafka, stop_kafka
from tests.support import faults
from tests.support.cluster import Cluster, start_cluster, wait_for
from tests.support.partners import PARTNER, push, routing_report, sample_origin_certificate
from tests.support.pki import Pki
from tests.support.postgres import postgres_server

pytestmark = pytest.mark.e2e

VICTIMS = [
    "declaration-svc",
    "signature-svc",
    "ipr-svc",
    "routing-svc",
    "gateway",
    faults.KAFKA,
    faults.POSTGRES,
]
# From the restarted victim being up (a service ready, the broker or the database taking
# connections) to a new declaration laned through the gateway.
SERVES_AGAIN_SECONDS = 30.0
# The restart itself: a service's Python start on two busy cores is most of it.
START_SECONDS = 60.0
TRAFFIC_BEFORE_KILL_SECONDS = 2.0
DOWN_SECONDS = 1.0
TRAFFIC_AFTER_RESTART_SECONDS = 1.0
SETTLE_SECONDS = 45.0
# What /readyz and the metrics call a stall or a stuck outbox here; a setting (default 60 s).
THRESHOLD_SECONDS = 4
KAFKA_LOG_DIR_BYTES = 256 * 1024 * 1024
DATABASES = [s.database for s in DATABASE_SERVICES if s.database]


@dataclass
class Faulty:
    cluster: Cluster
    kafka_dir: Path
    pki: Pki
    accepted: faults.Accepted


@contextlib.contextmanager
def tmpfs(size_bytes: int) -> Iterator[Path]:
    """A small file system of its own, so that filling it fills nothing else."""
    path = Path(tempfile.mkdtemp(prefix="customs-fault-kafka-"))
    mounted = subprocess.run(
        ["/usr/bin/mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(path)],
        check=False,
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        shutil.rmtree(path, ignore_errors=True)
        pytest.fail(
            "the fault tests mount a tmpfs for Kafka's log directory (to fill it); "
            f"`mount -t tmpfs` failed: {mounted.stderr.strip()} — run them as root, or in a "
            "container with CAP_SYS_ADMIN"
        )
    try:
        yield path
    finally:
        subprocess.run(["/usr/bin/umount", "-l", str(path)], check=False)
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory, test_pki: Pki) -> Iterator[Faulty]:
    with (
        tmpfs(KAFKA_LOG_DIR_BYTES) as kafka_dir,
        postgres_server(DATABASES, crash_safe=True) as database,
    ):
        bootstrap = start_kafka(kafka_dir)
        cluster = None
        tmp = tmp_path_factory.mktemp("faulty-cluster")
        logs = tmp / "logs"
        try:
            cluster = start_cluster(
                tmp=tmp,
                kafka_bootstrap=bootstrap,
                postgres=database,
                extra_env={
                    "{P}LOG_LEVEL": "INFO",
                    # A lost screening must show as a missing lane, not a timed-out one.
                    "ROUTING_SCREENING_TIMEOUT_SECONDS": "120",
                    "GATEWAY_RATE_LIMIT_PER_MINUTE": "100000",
                    "GATEWAY_UPSTREAM_BREAKER_OPEN_SECONDS": "1",
                    "{P}CONSUMER_STALL_SECONDS": str(THRESHOLD_SECONDS),
                    "{P}OUTBOX_MAX_PENDING_AGE_SECONDS": str(THRESHOLD_SECONDS),
                    **test_pki.signature_env(),
                },
            )
            yield Faulty(cluster, kafka_dir, test_pki, faults.Accepted())
        finally:
            if cluster is not None:
                for process in reversed(list(cluster.processes.values())):
                    process.stop()
            stop_kafka(kafka_dir)
            # The broker's own log (group rebalances, recovery) outlives its tmpfs.
            with contextlib.suppress(OSError):
                shutil.copy(kafka_dir / "kafka.log", logs / "kafka.log")


@pytest.mark.parametrize("victim", VICTIMS)
def test_sigkill_and_restart_under_load_loses_nothing(faulty: Faulty, victim: str) -> None:
    cluster, accepted = faulty.cluster, faulty.accepted
    with faults.DeclarationStream(cluster, faulty.pki, accepted) as stream:
        time.sleep(TRAFFIC_BEFORE_KILL_SECONDS)
        faults.kill(cluster, victim, faulty.kafka_dir)
        time.sleep(DOWN_SECONDS)
        restarted = time.monotonic()
        faults.restart(cluster, victim, faulty.kafka_dir)
        back = time.monotonic()
        faults.serves_again(cluster, accepted, timeout=SERVES_AGAIN_SECONDS + 10)
        serves_in = time.monotonic() - back
        started_in = back - restarted
        time.sleep(TRAFFIC_AFTER_RESTART_SECONDS)
    found = faults.settle(cluster, accepted, SETTLE_SECONDS)
    dead = faults.dead_letters(cluster.kafka_bootstrap)

    print(  # noqa: T201  (the figure the notes quote)
        f"\n{victim}: up {started_in:.1f} s after its restart began, serving "
        f"{serves_in:.1f} s later; "
        f"{stream.submitted} submitted, {len(accepted.versions)} accepted so far"
    )
    assert stream.submitted > 0
    assert serves_in < SERVES_AGAIN_SECONDS, f"{victim}: serves again only after {serves_in} s"
    assert started_in < START_SECONDS, f"{victim}: took {started_in} s to start"
    assert not accepted.refused, accepted.refused[:5]
    assert not accepted.unacknowledged, accepted.unacknowledged[:5]
    assert not found.lanes, found.lanes[:10]
    assert not found.unpublished, found.unpublished[:10]
    assert not found.lost_events, found.lost_events[:10]
    assert not found.unknown_processed, found.unknown_processed[:10]
    assert not dead, dead


def _readyz(cluster: Cluster, service: str) -> httpx.Response:
    return httpx.get(f"{cluster.internal_url(service)}/readyz", timeout=5)


def _gauge(cluster: Cluster, service: str, name: str, **labels: str) -> float | None:
    page = httpx.get(f"{cluster.internal_url(service)}/metrics", timeout=5).text
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in page.splitlines():
        series, _, value = line.rpartition(" ")
        if series == (f"{name}{{{wanted}}}" if wanted else name):
            return float(value)
    return None


def test_a_stalled_consumer_shows_in_readyz_and_metrics(faulty: Faulty) -> None:
    """routing-svc's handlers wait on a lock held elsewhere: its consumer has lag and makes
    no progress; /readyz says so after the threshold, and says ready again once it moves."""
    cluster = faulty.cluster
    with psycopg.connect(cluster.postgres.url("routing", driver="postgresql")) as holder:
        holder.execute("LOCK TABLE processed_events IN ACCESS EXCLUSIVE MODE")
        with cluster.client("demo-broker") as client:
            response = client.post("/api/v1/declarations", json=faults.sample_body())
            assert response.status_code == 202, response.text
            declaration_id = response.json()["id"]
        waiting_since = time.monotonic()
        stalled = wait_for(
            lambda: (r := _readyz(cluster, "routing-svc")).status_code == 503 and r.json(),
            timeout=THRESHOLD_SECONDS + 20,
            interval=0.5,
        )
        stalled_for = _gauge(
            cluster, "routing-svc", "consumer_stalled_seconds", group="routing-svc"
        )
        healthy = _gauge(
            cluster, "declaration-svc", "consumer_stalled_seconds", group="declaration-svc"
        )
        reported_in = time.monotonic() - waiting_since
        holder.rollback()  # releases the lock

    print(f"\nstalled consumer: /readyz 503 {reported_in:.1f} s after the record came")  # noqa: T201

    assert "stalled" in stalled["checks"]["consumer"], stalled
    assert stalled["checks"]["database"] == "ok"
    assert stalled_for is not None
    assert stalled_for >= THRESHOLD_SECONDS
    assert healthy is not None
    assert healthy < THRESHOLD_SECONDS  # it keeps up (0, or the batch in its hands)
    wait_for(lambda: _readyz(cluster, "routing-svc").status_code == 200, timeout=30)
    with cluster.client("demo-broker") as client:
        wait_for(
            lambda: client.get(f"/api/v1/declarations/{declaration_id}").json().get("lane"),
            timeout=30,
        )
    wait_for(
        lambda: (
            _gauge(cluster, "routing-svc", "consumer_stalled_seconds", group="routing-svc") == 0
        ),
        timeout=10,
    )


def test_a_stalled_gateway_consumer_shows_in_its_readyz(faulty: Faulty) -> None:
    """The gateway's own consumer (routing's reports on partner events) is held the same
    way: its /readyz says so, and is ready again once the lock goes."""
    cluster = faulty.cluster
    event = {**sample_origin_certificate(), "id": str(uuid.uuid4())}
    event["data"] = {**event["data"], "reference": f"E-{uuid.uuid4().hex[:10]}"}
    with psycopg.connect(cluster.postgres.url("gateway", driver="postgresql")) as holder:
        holder.execute("LOCK TABLE processed_events IN ACCESS EXCLUSIVE MODE")
        with cluster.client(PARTNER) as partner:
            assert push(partner, event) == "accepted"
        stalled = wait_for(
            lambda: (r := _readyz(cluster, "gateway")).status_code == 503 and r.json(),
            timeout=THRESHOLD_SECONDS + 30,
            interval=0.5,
        )
        holder.rollback()

    assert stalled["checks"]["consumer"].startswith("failed: consumer gateway stalled"), stalled
    wait_for(lambda: _readyz(cluster, "gateway").status_code == 200, timeout=30)
    with cluster.client(PARTNER) as partner:
        wait_for(lambda: routing_report(partner, event), timeout=30)


def test_a_full_kafka_log_dir_shows_in_readyz_and_metrics(faulty: Faulty) -> None:
    """Kafka's log directory fills up: the relays cannot publish, and each service's
    /readyz and outbox metrics say so instead of accepting work silently. Freed, the
    broker restarted, everything left in the outboxes goes out."""
    cluster, kafka_dir = faulty.cluster, faulty.kafka_dir
    faults.fill(kafka_dir)
    filled = time.monotonic()
    submitted: list[str] = []
    try:
        with cluster.client("demo-broker") as client:

            def stuck() -> dict[str, dict[str, str]] | None:
                # Declarations keep coming (the outbox takes them without Kafka) until
                # one of them cannot leave.
                response = client.post("/api/v1/declarations", json=faults.sample_body())
                assert response.status_code == 202, response.text
                submitted.append(response.json()["id"])
                answer = _readyz(cluster, "declaration-svc")
                report: dict[str, dict[str, str]] = answer.json()
                return report if report["checks"]["outbox"] != "ok" else None

            report = wait_for(stuck, timeout=THRESHOLD_SECONDS + 60, interval=1.0)
        reported_in = time.monotonic() - filled
        age = _gauge(cluster, "declaration-svc", "outbox_oldest_unpublished_age_seconds")
        pending = _gauge(cluster, "declaration-svc", "outbox_pending_events")
    finally:
        (kafka_dir / "ballast").unlink(missing_ok=True)

    print(  # noqa: T201
        f"\nfull Kafka disk: /readyz names the stuck outbox {reported_in:.1f} s after the "
        f"disk filled; checks {report['checks']}"
    )
    assert report["status"] == "unavailable", report
    assert report["checks"]["outbox"].startswith("failed: outbox stuck"), report
    assert age is not None
    assert age >= THRESHOLD_SECONDS
    assert pending is not None
    assert pending >= 1

    # A broker whose only log directory failed halts; one that did not is restarted too,
    # since a failed log directory stays offline until then.
    if not faults.broker_down(kafka_dir):
        faults.kill_kafka(kafka_dir)
    restarting = time.monotonic()
    faults.restart_kafka(kafka_dir, cluster.kafka_bootstrap)
    restarted = time.monotonic()
    wait_for(lambda: _readyz(cluster, "declaration-svc").status_code == 200, timeout=60)
    ready = time.monotonic()
    with cluster.client("demo-broker") as client:
        try:
            wait_for(
                lambda: all(
                    client.get(f"/api/v1/declarations/{i}").json().get("lane") for i in submitted
                ),
                timeout=60,
            )
        except TimeoutError:
            unlaned = [
                i
                for i in submitted
                if not client.get(f"/api/v1/declarations/{i}").json().get("lane")
            ]
            pytest.fail(
                f"{len(unlaned)} of {len(submitted)} declarations without a lane 60 s after "
                f"declaration-svc was ready again: {unlaned[:5]}; /readyz: "
                f"{ {s.name: _readyz(cluster, s.name).json() for s in SERVICES} }"
            )
    print(  # noqa: T201
        f"full Kafka disk freed: broker up in {restarted - restarting:.1f} s, "
        f"declaration-svc ready {ready - restarted:.1f} s later, "
        f"all {len(submitted)} laned {time.monotonic() - ready:.1f} s after that"
    )
    assert _gauge(cluster, "declaration-svc", "outbox_oldest_unpublished_age_seconds") == 0
