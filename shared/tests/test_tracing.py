"""Tracing: off unless OTEL_EXPORTER_OTLP_ENDPOINT is set, and when on, one trace from
the request that wrote an event through its publication to each consumer's handling."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from pydantic import BaseModel

from customs_shared import tracing
from customs_shared.context import current_traceparent, parse_traceparent
from customs_shared.events.envelope import new_event


class Ping(BaseModel):
    n: int


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert tracing.configure("test-svc", exporter=exporter)
    try:
        yield exporter
    finally:
        tracing.shutdown()


# FastAPI itself loads the OpenTelemetry API; what costs is the SDK and the wrappers.
_OTEL_MACHINERY = ("opentelemetry.sdk", "opentelemetry.instrumentation", "opentelemetry.exporter")


def test_off_without_an_endpoint_no_tracing_machinery_is_even_imported() -> None:
    script = (
        "import sys, json\n"
        "from declaration_svc.main import create_app\n"
        "from gateway.main import create_app as gateway_app\n"
        "from customs_shared import tracing\n"
        "create_app(); gateway_app()\n"
        "with tracing.publish_span('t', b'{}') as headers: pass\n"
        "print(json.dumps([tracing.enabled(), headers,"
        f" sorted(m for m in sys.modules if m.startswith({_OTEL_MACHINERY!r}))]))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "GATEWAY_SIGNING_KEY_FILE": "/nonexistent/key.pem"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    assert json.loads(result.stdout.splitlines()[-1]) == [False, [], []]


def test_with_the_endpoint_set_the_process_traces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(tracing.ENDPOINT_VARIABLE, "http://127.0.0.1:4318")
    try:
        assert tracing.configure("test-svc")
        assert tracing.enabled()
    finally:
        tracing.shutdown()
    assert not tracing.enabled()


def test_a_consumers_span_continues_the_producers_trace(spans: InMemorySpanExporter) -> None:
    tracer = trace.get_tracer("test", tracer_provider=tracing._tracing.provider)  # type: ignore[union-attr]
    with tracer.start_as_current_span("POST /api/v1/declarations", kind=SpanKind.SERVER) as request:
        # Written in the request's transaction: the envelope names the request's span.
        event = new_event(event_type="test.ping.v1", source="/t", subject="s", data=Ping(n=1))
    payload = event.to_json()
    # The relay publishes later, in a task of its own: no current span there.
    with tracing.publish_span("customs.test.v1", payload) as headers:
        pass
    with tracing.process_span(
        topic="customs.test.v1",
        partition=0,
        offset=7,
        headers=headers,
        envelope_traceparent=event.traceparent,
        event_id=event.id,
        event_type=event.type,
        group="routing-svc",
    ):
        # An event the handler writes continues the same trace, from this span.
        onward = parse_traceparent(current_traceparent())

    finished = {span.name: span for span in spans.get_finished_spans()}
    publish = finished["publish customs.test.v1"]
    process = finished["process customs.test.v1"]
    trace_id = request.get_span_context().trace_id
    assert {s.context.trace_id for s in finished.values()} == {trace_id}
    assert publish.kind is SpanKind.PRODUCER
    assert publish.parent is not None
    assert publish.parent.span_id == request.get_span_context().span_id
    assert process.kind is SpanKind.CONSUMER
    assert process.parent is not None
    assert process.parent.span_id == publish.context.span_id
    assert process.attributes is not None
    assert process.attributes["messaging.consumer.group.name"] == "routing-svc"
    assert process.attributes["messaging.message.id"] == event.id
    assert onward == (f"{trace_id:032x}", f"{process.context.span_id:016x}")


def test_a_record_without_trace_headers_joins_the_envelopes_trace(
    spans: InMemorySpanExporter,
) -> None:
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with tracing.process_span(
        topic="t",
        partition=0,
        offset=0,
        headers=[("content-type", b"application/cloudevents+json")],
        envelope_traceparent=traceparent,
        event_id="e",
        event_type="x",
        group="g",
    ):
        pass
    [span] = spans.get_finished_spans()
    assert f"{span.context.trace_id:032x}" == "0af7651916cd43dd8448eb211c80319c"
    assert span.parent is not None
    assert f"{span.parent.span_id:016x}" == "b7ad6b7169203331"
