"""Per-request and per-message context carried into logs and events."""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
trace_id_var: ContextVar[str | None] = ContextVar("trace_id", default=None)
span_id_var: ContextVar[str | None] = ContextVar("span_id", default=None)

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


def current_traceparent() -> str:
    """A ``traceparent`` for an outgoing call or event, continuing the current trace."""
    trace_id = trace_id_var.get() or new_trace_id()
    return f"00-{trace_id}-{new_span_id()}-01"


def adopt_traceparent(value: str | None) -> str:
    """Join the trace named by ``value`` (or start one); returns the trace id."""
    parsed = parse_traceparent(value)
    trace_id = parsed[0] if parsed else new_trace_id()
    trace_id_var.set(trace_id)
    span_id_var.set(new_span_id())
    return trace_id
