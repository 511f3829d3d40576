"""Per-request and per-message context carried into logs and events."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
trace_id_var: ContextVar[str | None] = ContextVar("trace_id", default=None)
span_id_var: ContextVar[str | None] = ContextVar("span_id", default=None)

# With tracing on (customs_shared.tracing), the current span's (trace id, span id): then
# logs, events and outgoing calls name the same spans as the exported traces.
SpanIds = Callable[[], tuple[str, str] | None]
_span_ids: SpanIds | None = None

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")


def new_trace_id() -> str:
    return secrets.token_hex(16)


def new_span_id() -> str:
    return secrets.token_hex(8)


def parse_traceparent(value: str | None) -> tuple[str, str] | None:
    """(trace id, parent span id) of a W3C ``traceparent``, or None if absent or malformed."""
    if not value:
        return None
    match = _TRACEPARENT.match(value.strip().lower())
    if match is None or match.group(1) == "0" * 32:
        return None
    return match.group(1), match.group(2)


def use_span_ids(source: SpanIds | None) -> None:
    global _span_ids  # set once per process, by customs_shared.tracing
    _span_ids = source


def current_traceparent() -> str:
    """A ``traceparent`` for an outgoing call or event, continuing the current trace."""
    if _span_ids is not None and (ids := _span_ids()) is not None:
        return f"00-{ids[0]}-{ids[1]}-01"
    trace_id = trace_id_var.get() or new_trace_id()
    return f"00-{trace_id}-{new_span_id()}-01"


def adopt_traceparent(value: str | None) -> str:
    """Join the trace named by ``value`` (or start one); returns the trace id. With
    tracing on, the current span has joined it already."""
    if _span_ids is not None and (ids := _span_ids()) is not None:
        trace_id_var.set(ids[0])
        span_id_var.set(ids[1])
        return ids[0]
    parsed = parse_traceparent(value)
    trace_id = parsed[0] if parsed else new_trace_id()
    trace_id_var.set(trace_id)
    span_id_var.set(new_span_id())
    return trace_id
