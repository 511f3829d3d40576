"""OpenTelemetry tracing for every process of the cluster: HTTP served (FastAPI), HTTP
called (httpx), SQL (SQLAlchemy), and Kafka publish and process spans that continue the
trace carried in the CloudEvents envelope.

On only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (spans then go over OTLP/HTTP; the
exporter reads the other standard ``OTEL_EXPORTER_OTLP_*`` variables itself). Off, nothing
of OpenTelemetry is imported, no app or client is wrapped, and each Kafka record costs one
``is None`` check."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from customs_shared import context

if TYPE_CHECKING:
    import aiohttp
    import httpx
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer
    from sqlalchemy.ext.asyncio import AsyncEngine

ENDPOINT_VARIABLE = "OTEL_EXPORTER_OTLP_ENDPOINT"
# Probes and scrapes would drown the traces that matter.
_UNTRACED_URLS = "/healthz,/readyz,/metrics"

Headers = Sequence[tuple[str, bytes]]
_NO_HEADERS: AbstractContextManager[list[tuple[str, bytes]]] = contextlib.nullcontext([])
_NOTHING: AbstractContextManager[None] = contextlib.nullcontext()


@dataclass
class _Tracing:
    provider: TracerProvider
    tracer: Tracer
    instrumented: list[Any]


_tracing: _Tracing | None = None


def enabled() -> bool:
    return _tracing is not None


def configure(service_name: str, *, exporter: SpanExporter | None = None) -> bool:
    """Turns tracing on for this process when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, or
    with ``exporter`` (tests pass an in-memory one). The first call wins; True if on."""
    global _tracing  # one tracer provider per process
    if _tracing is not None:
        return True
    if exporter is None and not os.environ.get(ENDPOINT_VARIABLE):
        return False
    from opentelemetry.sdk.resources import Resource  # imported only when on
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SimpleSpanProcessor,
    )

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter,
        )

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    _tracing = _Tracing(provider, provider.get_tracer("customs_shared"), [])
    # Logs and outgoing traceparents then name the current span, so they match the traces.
    context.use_span_ids(_current_span_ids)
    return True


def shutdown() -> None:
    """Flushes and turns tracing off (process exit, or the end of a test)."""
    global _tracing
    if _tracing is None:
        return
    for instrumentor in _tracing.instrumented:
        instrumentor.uninstrument()
    _tracing.provider.shutdown()
    context.use_span_ids(None)
    _tracing = None


def _current_span_ids() -> tuple[str, str] | None:
    from opentelemetry import trace

    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    return trace.format_trace_id(span_context.trace_id), trace.format_span_id(span_context.span_id)


def instrument_app(app: FastAPI) -> None:
    """A server span per request (probes and metrics left out)."""
    if _tracing is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=_tracing.provider,
        excluded_urls=_UNTRACED_URLS,
        exclude_spans=["receive", "send"],
    )


def instrument_httpx(client: httpx.AsyncClient) -> None:
    """A client span per call, and the ``traceparent`` header that continues the trace."""
    if _tracing is None:
        return
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor.instrument_client(client, tracer_provider=_tracing.provider)


def aiohttp_trace_configs() -> list[aiohttp.TraceConfig]:
    """For an aiohttp ``ClientSession``: a client span per call, and the ``traceparent``
    header that continues the trace; none when tracing is off."""
    if _tracing is None:
        return []
    from opentelemetry.instrumentation.aiohttp_client import create_trace_config

    return [create_trace_config(tracer_provider=_tracing.provider)]


def instrument_engine(engine: AsyncEngine) -> None:
    """A span per SQL statement (the process's one engine)."""
    if _tracing is None:
        return
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    instrumentor = SQLAlchemyInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        # Its declared range stops below SQLAlchemy 2.1, whose engine events it hooks
        # are unchanged; the tests show the spans arrive.
        instrumentor.instrument(
            engine=engine.sync_engine, tracer_provider=_tracing.provider, skip_dep_check=True
        )
        _tracing.instrumented.append(instrumentor)


def publish_span(topic: str, payload: bytes) -> AbstractContextManager[list[tuple[str, bytes]]]:
    """Around one outbox row's publication: a producer span, child of the context the
    event was written in (its envelope's ``traceparent``). Yields the record headers that
    carry the span to the consumer."""
    if _tracing is None:
        return _NO_HEADERS
    return _publish_span(_tracing, topic, payload)


@contextlib.contextmanager
def _publish_span(
    tracing: _Tracing, topic: str, payload: bytes
) -> Iterator[list[tuple[str, bytes]]]:
    from opentelemetry.propagate import inject
    from opentelemetry.trace import SpanKind

    envelope = _envelope_fields(payload)
    with tracing.tracer.start_as_current_span(
        f"publish {topic}",
        context=_extract(envelope.get("traceparent")),
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "send",
            "messaging.destination.name": topic,
            "messaging.message.id": str(envelope.get("id", "")),
            "cloudevents.event_type": str(envelope.get("type", "")),
        },
    ):
        carrier: dict[str, str] = {}
        inject(carrier)
        yield [(key, value.encode()) for key, value in carrier.items()]


def process_span(
    *,
    topic: str,
    partition: int,
    offset: int,
    headers: Headers,
    envelope_traceparent: str | None,
    event_id: str,
    event_type: str,
    group: str,
) -> AbstractContextManager[None]:
    """Around one consumed event's handling: a consumer span, child of the producer's
    span (the record's ``traceparent`` header), or of the envelope's context for records
    published without one."""
    if _tracing is None:
        return _NOTHING
    header = next((v.decode() for k, v in headers if k == "traceparent"), None)
    return _process_span(
        _tracing,
        header or envelope_traceparent,
        f"process {topic}",
        {
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": topic,
            "messaging.destination.partition.id": str(partition),
            "messaging.kafka.offset": offset,
            "messaging.consumer.group.name": group,
            "messaging.message.id": event_id,
            "cloudevents.event_type": event_type,
        },
    )


@contextlib.contextmanager
def _process_span(
    tracing: _Tracing, traceparent: str | None, name: str, attributes: dict[str, Any]
) -> Iterator[None]:
    from opentelemetry.trace import SpanKind

    with tracing.tracer.start_as_current_span(
        name, context=_extract(traceparent), kind=SpanKind.CONSUMER, attributes=attributes
    ):
        yield


def _extract(traceparent: str | None) -> Any:
    from opentelemetry.propagate import extract

    return extract({"traceparent": traceparent} if traceparent else {})


def _envelope_fields(payload: bytes) -> dict[str, Any]:
    try:
        envelope = json.loads(payload)
    except ValueError:
        return {}
    return envelope if isinstance(envelope, dict) else {}
