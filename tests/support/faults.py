"""Fault injection for the e2e fault tests: SIGKILL and restart of a service, the Kafka
broker or PostgreSQL; a background stream of declarations whose submitters retry like a
broker's software would; and the checks of what the cluster made of them."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from customs_shared.events.catalog import EVENT_TYPES, TOPICS
from customs_shared.services import DATABASE_SERVICES
from deploy.local.cluster import start_kafka
from tests.support.cluster import Cluster
from tests.support.pki import Pki
from tests.support.postgres import kill_server, restart_server
from tests.support.samples import sample
from tests.support.topics import read_topic

KAFKA = "kafka"
POSTGRES = "postgres"
# A submitter gives up on one request after this long; the cluster must be back sooner.
RETRY_WINDOW_SECONDS = 45.0
_RETRYABLE = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


def kill_kafka(data_dir: Path) -> None:
    """SIGKILL to the broker: no controlled shutdown, no flushed segments."""
    pid = int((data_dir / "kafka.pid").read_text().strip())
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not broker_down(data_dir):
        if time.monotonic() > deadline:
            raise TimeoutError("the broker outlived SIGKILL by 10 s")
        time.sleep(0.05)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def broker_down(data_dir: Path) -> bool:
    pid = int((data_dir / "kafka.pid").read_text().strip())
    return not Path(f"/proc/{pid}").exists() or _state(pid) == "Z"


def restart_kafka(data_dir: Path, bootstrap: str) -> None:
    """Starts the broker again on its data directory; the port must be the same."""
    again = start_kafka(data_dir)
    if again != bootstrap:
        raise RuntimeError(f"the broker came back on {again}, not {bootstrap}")


def kill(cluster: Cluster, victim: str, kafka_dir: Path) -> None:
    if victim == KAFKA:
        kill_kafka(kafka_dir)
    elif victim == POSTGRES:
        kill_server(cluster.postgres)
    else:
        cluster.processes[victim].kill()


def restart(cluster: Cluster, victim: str, kafka_dir: Path) -> None:
    """Starts the victim again (same ports, same data). A service's restart returns once
    its /readyz answers 200; Kafka's and PostgreSQL's once they accept connections."""
    if victim == KAFKA:
        restart_kafka(kafka_dir, cluster.kafka_bootstrap)
    elif victim == POSTGRES:
        restart_server(cluster.postgres)
    else:
        cluster.restart(victim)


@dataclass
class Accepted:
    """What the cluster acknowledged (2xx) to the submitters."""

    versions: dict[str, int] = field(default_factory=dict)  # declaration id → latest version
    documents: Counter[str] = field(default_factory=Counter)
    unacknowledged: list[str] = field(default_factory=list)  # gave up: never a 2xx
    refused: list[str] = field(default_factory=list)  # a 4xx no retry can change
    lock: threading.Lock = field(default_factory=threading.Lock)


def _until_accepted(
    send: Callable[[], httpx.Response],
    done: Callable[[httpx.Response], bool],
    what: str,
    accepted: Accepted,
) -> httpx.Response | None:
    """Sends until ``done`` says the answer is final, retrying errors and timeouts with
    the same request (the same Idempotency-Key), for up to RETRY_WINDOW_SECONDS."""
    deadline = time.monotonic() + RETRY_WINDOW_SECONDS
    while time.monotonic() < deadline:
        try:
            response = send()
        except httpx.HTTPError:
            time.sleep(0.3)
            continue
        if done(response):
            return response
        if response.status_code not in _RETRYABLE:
            with accepted.lock:
                accepted.refused.append(f"{what}: {response.status_code} {response.text[:300]}")
            return None
        time.sleep(0.3)
    with accepted.lock:
        accepted.unacknowledged.append(what)
    return None


class DeclarationStream:
    """Submitter threads: each declaration through the gateway, every third amended at
    once, every fourth with a signed document; each request retried until a 2xx."""

    def __init__(
        self, cluster: Cluster, pki: Pki, accepted: Accepted, *, submitters: int = 1
    ) -> None:
        self._cluster = cluster
        self._pki = pki
        self._accepted = accepted
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._submit, name=f"submitter-{n}", daemon=True)
            for n in range(submitters)
        ]
        self.submitted = 0

    def __enter__(self) -> DeclarationStream:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(RETRY_WINDOW_SECONDS * 3 + 10)

    def _submit(self) -> None:
        token = self._cluster.token("demo-broker")
        with httpx.Client(
            base_url=self._cluster.gateway,
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        ) as client:
            n = 0
            while not self._stop.is_set():
                declaration_id = submit_declaration(client, self._accepted)
                n += 1
                with self._accepted.lock:
                    self.submitted += 1
                if declaration_id is not None and n % 3 == 0:
                    amend(client, declaration_id, self._accepted)
                if declaration_id is not None and n % 4 == 1:
                    attach_document(client, declaration_id, self._pki, self._accepted)
                self._stop.wait(0.2)


def sample_body() -> dict[str, Any]:
    return sample("declaration-enterprise")


def submit_declaration(client: httpx.Client, accepted: Accepted) -> str | None:
    key = f"fault-{uuid.uuid4()}"
    body = sample_body()
    response = _until_accepted(
        lambda: client.post("/api/v1/declarations", json=body, headers={"Idempotency-Key": key}),
        lambda r: r.is_success,
        f"submit {key}",
        accepted,
    )
    if response is None:
        return None
    declaration_id = str(response.json()["id"])
    with accepted.lock:
        accepted.versions[declaration_id] = max(accepted.versions.get(declaration_id, 1), 1)
    return declaration_id


def amend(client: httpx.Client, declaration_id: str, accepted: Accepted) -> None:
    body = sample_body()
    body["items"][0]["description"] += " (amended)"

    def final(response: httpx.Response) -> bool:
        # A 412 naming v2 after a retry: the first attempt went through.
        return response.is_success or (
            response.status_code == 412 and response.json().get("current_etag") == '"v2"'
        )

    response = _until_accepted(
        lambda: client.put(
            f"/api/v1/declarations/{declaration_id}", json=body, headers={"If-Match": '"v1"'}
        ),
        final,
        f"amend {declaration_id}",
        accepted,
    )
    if response is not None:
        with accepted.lock:
            accepted.versions[declaration_id] = 2


def attach_document(
    client: httpx.Client, declaration_id: str, pki: Pki, accepted: Accepted
) -> None:
    content = b"%PDF-1.7 invoice " + declaration_id.encode()
    signature = pki.sign_bytes(content, pki.enterprise_a)
    response = _until_accepted(
        lambda: client.post(
            f"/api/v1/declarations/{declaration_id}/documents",
            files={
                "file": ("invoice.pdf", content, "application/pdf"),
                "signature": ("invoice.pdf.p7s", signature, "application/pkcs7-signature"),
            },
            data={"document_type": "invoice"},
        ),
        lambda r: r.is_success,
        f"document {declaration_id}",
        accepted,
    )
    if response is not None:
        with accepted.lock:
            accepted.documents[declaration_id] += 1


def serves_again(cluster: Cluster, accepted: Accepted, timeout: float) -> float:
    """Seconds until a new declaration goes all the way through: accepted by the gateway,
    screened and given its lane. Raises TimeoutError after ``timeout``."""
    started = time.monotonic()
    deadline = started + timeout
    key = f"probe-{uuid.uuid4()}"
    with httpx.Client(
        base_url=cluster.gateway,
        headers={"Authorization": f"Bearer {cluster.token('demo-broker')}"},
        timeout=2,
    ) as client:
        declaration_id: str | None = None
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
                if declaration_id is None:
                    response = client.post(
                        "/api/v1/declarations",
                        json=sample("declaration-enterprise"),
                        headers={"Idempotency-Key": key},
                    )
                    if response.is_success:
                        declaration_id = str(response.json()["id"])
                        with accepted.lock:
                            accepted.versions[declaration_id] = 1
                else:
                    response = client.get(f"/api/v1/declarations/{declaration_id}")
                    if response.is_success and response.json().get("lane"):
                        return time.monotonic() - started
            time.sleep(0.2)
    raise TimeoutError(
        f"no declaration made it through in {timeout} s "
        f"({'accepted: ' + declaration_id if declaration_id else 'none accepted'}); "
        f"readiness: {readiness(cluster)}"
    )


def readiness(cluster: Cluster) -> dict[str, object]:
    """Each service's /readyz answer, to say what a cluster that does not serve lacks."""
    answers: dict[str, object] = {}
    for name in cluster.processes:
        try:
            answers[name] = httpx.get(f"{cluster.internal_url(name)}/readyz", timeout=3).json()
        except (httpx.HTTPError, ValueError) as exc:
            answers[name] = repr(exc)
    return answers


@contextlib.contextmanager
def _db(cluster: Cluster, database: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(cluster.postgres.url(database, driver="postgresql")) as connection:
        yield connection


@dataclass(frozen=True)
class Findings:
    """What is wrong after the cluster settled; empty lists when all is well."""

    lanes: list[str]
    lost_events: list[str]
    unpublished: list[str]
    unknown_processed: list[str]

    @property
    def settled(self) -> bool:
        return not (self.lanes or self.lost_events or self.unpublished)


def lane_findings(cluster: Cluster, accepted: Accepted) -> list[str]:
    """Each accepted declaration: its latest version laned exactly once, in both
    declaration-svc (status, lane, one lane_assigned since the last amendment) and
    routing-svc (one current decision, of that version, the same lane, first revision)."""
    with accepted.lock:
        expected = dict(accepted.versions)
    ids = list(expected)
    with _db(cluster, "declarations") as db:
        declared = {
            str(row[0]): row[1:]
            for row in db.execute(
                "SELECT id, version, status, lane FROM declarations WHERE id::text = ANY(%s)",
                (ids,),
            )
        }
        timeline: dict[str, list[str]] = {}
        for declaration_id, event in db.execute(
            "SELECT declaration_id::text, event FROM declaration_timeline "
            "WHERE declaration_id::text = ANY(%s) ORDER BY id",
            (ids,),
        ):
            timeline.setdefault(declaration_id, []).append(event)
    with _db(cluster, "routing") as db:
        decided = {
            str(row[0]): row[1:]
            for row in db.execute(
                "SELECT declaration_id, version, lane, revision FROM lane_decisions "
                "WHERE declaration_id::text = ANY(%s)",
                (ids,),
            )
        }
    problems = []
    for declaration_id, version in expected.items():
        if declaration_id not in declared:
            problems.append(f"{declaration_id}: accepted but not stored")
            continue
        stored_version, status, lane = declared[declaration_id]
        events = timeline.get(declaration_id, [])
        since_amendment = (
            events[len(events) - events[::-1].index("amended") :]
            if ("amended" in events)
            else events
        )
        decision = decided.get(declaration_id)
        if stored_version != version:
            problems.append(f"{declaration_id}: version {stored_version}, accepted {version}")
        elif lane is None or status != f"LANE_{lane.upper()}":
            problems.append(f"{declaration_id} v{version}: status {status}, lane {lane}")
        elif since_amendment.count("lane_assigned") != 1:
            problems.append(
                f"{declaration_id} v{version}: {since_amendment.count('lane_assigned')} "
                "lane_assigned for its latest version"
            )
        elif decision is None or decision != (version, lane, 1):
            problems.append(f"{declaration_id} v{version} {lane}: routing has {decision}")
    return problems


def event_findings(cluster: Cluster) -> tuple[list[str], list[str], list[str]]:
    """Every event in every producer's outbox, published and handled exactly once by
    each consumer group the catalog subscribes to its type (processed-event ids; their
    primary key forbids a second row, so a missing row is the only way to fail).

    The handled ids are read first, the outboxes after: an event is in its outbox before
    any group handles it, and stays there (published rows are kept for a day), so an id
    read as handled that no outbox read later holds was handled without being produced.
    Read the other way round, an event produced and handled between the two reads (they
    take a while: every outbox payload is parsed) would look so."""
    consumers_of = {t.name: t.consumers for t in EVENT_TYPES}
    handled_by: dict[str, set[str]] = {}
    for spec in DATABASE_SERVICES:
        with _db(cluster, spec.database or "") as db:
            handled_by[spec.name] = {
                str(event_id)
                for (event_id,) in db.execute(
                    "SELECT event_id FROM processed_events WHERE consumer = %s", (spec.name,)
                )
            }
    produced: dict[str, str] = {}  # event id → type
    unpublished = []
    for spec in DATABASE_SERVICES:
        with _db(cluster, spec.database or "") as db:
            if db.execute("SELECT to_regclass('outbox_events')").fetchone() == (None,):
                continue  # the gateway publishes partner events itself
            for event_id, payload, published_at in db.execute(
                "SELECT event_id::text, payload, published_at FROM outbox_events"
            ):
                produced[event_id] = json.loads(bytes(payload))["type"]
                if published_at is None:
                    unpublished.append(f"{spec.name}: {event_id} not published")
    lost = []
    unknown = []
    for spec in DATABASE_SERVICES:
        handled = handled_by[spec.name]
        wanted = {i for i, t in produced.items() if spec.name in consumers_of[t]}
        lost += [f"{spec.name} never handled {produced[i]} {i}" for i in sorted(wanted - handled)]
        unknown += [f"{spec.name} handled {i}, which no outbox holds" for i in handled - wanted]
    return lost, unpublished, unknown


def findings(cluster: Cluster, accepted: Accepted) -> Findings:
    lost, unpublished, unknown = event_findings(cluster)
    return Findings(lane_findings(cluster, accepted), lost, unpublished, unknown)


def settle(cluster: Cluster, accepted: Accepted, timeout: float) -> Findings:
    """Polls until nothing is left in flight (or ``timeout``); the last findings."""
    deadline = time.monotonic() + timeout
    while True:
        found = findings(cluster, accepted)
        if found.settled or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def dead_letters(bootstrap: str) -> dict[str, list[str]]:
    """Every DLQ record, by topic, with the error it carries."""
    return {
        topic.dlq: [r.headers.get("dlq-error", "?") for r in records]
        for topic in TOPICS
        if (records := read_topic(bootstrap, topic.dlq))
    }


def fill(path: Path) -> None:
    """Writes zeros into ``path``'s file system until it is full."""
    subprocess.run(
        ["/usr/bin/dd", "if=/dev/zero", f"of={path / 'ballast'}", "bs=1M"],
        check=False,
        capture_output=True,
    )
