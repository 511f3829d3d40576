"""One trace across the cluster: the gateway's request, declaration-svc's handling and
SQL, the event's publication to Kafka, and routing-svc's (and the others') processing of
it, exported over OTLP by real service processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from customs_shared.services import SERVICES
from tests.support import infra
from tests.support.cluster import Cluster, start_cluster, wait_for
from tests.support.otlp import (
    KIND_CLIENT,
    KIND_CONSUMER,
    KIND_PRODUCER,
    KIND_SERVER,
    ReceivedSpan,
    Receiver,
    otlp_receiver,
)
from tests.support.samples import sample

pytestmark = pytest.mark.e2e

DATABASES = [s.database for s in SERVICES if s.database]


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, Receiver]]:
    """A cluster of its own (its own Kafka and PostgreSQL, so no other test's consumers
    share its groups) that exports its traces to the receiver."""
    tmp: Path = tmp_path_factory.mktemp("traced")
    with otlp_receiver() as receiver, infra.kafka() as kafka, infra.postgres(DATABASES) as db:
        cluster = start_cluster(
            tmp=tmp,
            kafka_bootstrap=kafka,
            postgres=db,
            extra_env={
                "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
                "OTEL_BSP_SCHEDULE_DELAY": "100",
                "{P}LOG_LEVEL": "WARNING",
            },
        )
        try:
            yield cluster, receiver
        finally:
            for process in reversed(list(cluster.processes.values())):
                process.stop()


def test_a_declaration_is_one_trace_from_the_gateway_through_kafka_to_routing(
    traced: tuple[Cluster, Receiver],
) -> None:
    cluster, receiver = traced
    with cluster.client("demo-broker") as client:
        response = client.post(
            "/api/v1/declarations",
            json=sample("declaration-enterprise"),
            headers={"Idempotency-Key": "traced-1"},
        )
        assert response.status_code == 202
    trace_id = response.headers["x-trace-id"]

    def whole_trace() -> list[ReceivedSpan] | None:
        spans = [s for s in receiver.spans() if s.trace_id == trace_id]
        lane_applied = any(
            s.service == "declaration-svc" and s.name == "process customs.lanes.v1" for s in spans
        )
        return spans if lane_applied else None

    spans: list[ReceivedSpan] = wait_for(whole_trace, timeout=30, interval=0.2)

    def one(service: str, name: str, kind: int) -> ReceivedSpan:
        found = [s for s in spans if (s.service, s.name, s.kind) == (service, name, kind)]
        assert found, (
            f"no {name} span of {service} in {sorted({(s.service, s.name) for s in spans})}"
        )
        return found[0]

    by_id = {s.span_id: s for s in spans}
    [gateway] = [
        s
        for s in spans
        if s.service == "gateway" and s.kind == KIND_SERVER and s.name.startswith("POST")
    ]
    forwarded = next(s for s in spans if s.service == "gateway" and s.kind == KIND_CLIENT)
    declaration = one("declaration-svc", "POST /api/v1/declarations", KIND_SERVER)
    publish = one("declaration-svc", "publish customs.declarations.v1", KIND_PRODUCER)
    routing = one("routing-svc", "process customs.declarations.v1", KIND_CONSUMER)

    assert gateway.parent_span_id == ""  # the trace starts at the edge
    assert by_id[forwarded.parent_span_id].service == "gateway"
    assert declaration.parent_span_id == forwarded.span_id  # across HTTP
    assert _ancestors(publish, by_id) >= {declaration.span_id}
    assert routing.parent_span_id == publish.span_id  # across Kafka
    sql = [s for s in spans if s.service == "declaration-svc" and _is_sql(s)]
    assert {s.parent_span_id for s in sql} & (
        {declaration.span_id} | _descendants(declaration, spans)
    )
    assert {s.service for s in spans} == {spec.name for spec in SERVICES}
    # Routing's lane event continues the trace back to declaration-svc.
    lane = one("routing-svc", "publish customs.lanes.v1", KIND_PRODUCER)
    applied = one("declaration-svc", "process customs.lanes.v1", KIND_CONSUMER)
    assert applied.parent_span_id == lane.span_id
    decided_in = by_id[lane.parent_span_id]
    assert (decided_in.service, decided_in.kind) == ("routing-svc", KIND_CONSUMER)


def test_probes_and_scrapes_are_not_traced(traced: tuple[Cluster, Receiver]) -> None:
    cluster, receiver = traced
    for _ in range(3):
        assert httpx.get(f"{cluster.internal_url('routing-svc')}/readyz").status_code == 200
        assert httpx.get(f"{cluster.internal_url('routing-svc')}/metrics").status_code == 200
    names = {s.name for s in receiver.spans()}
    assert not any("/readyz" in n or "/metrics" in n or "/healthz" in n for n in names)


def _ancestors(span: ReceivedSpan, by_id: dict[str, ReceivedSpan]) -> set[str]:
    seen: set[str] = set()
    current = span
    for _ in range(50):
        parent = by_id.get(current.parent_span_id)
        if parent is None:
            break
        seen.add(parent.span_id)
        current = parent
    return seen


def _descendants(span: ReceivedSpan, spans: list[ReceivedSpan]) -> set[str]:
    found = {span.span_id}
    for _ in range(50):
        more = {s.span_id for s in spans if s.parent_span_id in found} - found
        if not more:
            break
        found |= more
    return found


def _is_sql(span: ReceivedSpan) -> bool:
    return any(key.startswith("db.") for key in span.attributes)
