"""ASGI middleware: request/trace ids, access log, metrics, body size cap and read
timeouts, ``Cache-Control``; and the split between the public and internal listeners.

Written as plain ASGI (not BaseHTTPMiddleware) so streaming bodies and
background tasks keep working and the overhead stays small."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Iterable, Mapping

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from customs_shared.context import adopt_traceparent, request_id_var
from customs_shared.metrics import HTTP_LATENCY, HTTP_REQUESTS
from customs_shared.problems import NotFound, PayloadTooLarge, RequestTimeout, problem_response
from customs_shared.text import is_visible_ascii

log = logging.getLogger("customs.access")

PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_QUIET_PATHS = PROBE_PATHS
_DISCONNECT: Message = {"type": "http.disconnect"}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _refusal_headers(request_id: str, trace_id: str) -> dict[str, str]:
    return {"x-request-id": request_id, "x-trace-id": trace_id, "cache-control": "no-store"}


class ListenerSplitMiddleware:
    """Probes and metrics only on the internal listener, the API only on the public
    one; the API docs on the internal one, and on the public one if ``public_docs``.
    Anything else is the 404 an unknown route gets.

    The listener is told by the local port of the connection (``scope["server"]``, set
    by the server from the socket, never from a header); the two ports differ."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        internal_port: int,
        docs_paths: Iterable[str],
        public_docs: bool,
    ) -> None:
        self.app = app
        self.internal_port = internal_port
        docs = frozenset(docs_paths)
        self.internal_paths = PROBE_PATHS | docs
        self.public_refused = PROBE_PATHS if public_docs else PROBE_PATHS | docs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            server = scope.get("server")
            internal = server is not None and server[1] == self.internal_port
            path = scope["path"]
            if (path not in self.internal_paths) if internal else (path in self.public_refused):
                response = problem_response(
                    404, NotFound.title, type_uri=NotFound.type_uri(), instance=path
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class RequestContextMiddleware:
    """Sets request id and trace id, logs one line per request, records metrics,
    refuses bodies over ``max_body_bytes`` with a 413 problem and bodies that arrive
    too slowly with a 408 problem, and marks responses ``Cache-Control: no-store``
    unless the app chose otherwise.

    A body must come in pieces no more than ``body_read_timeout`` apart, and whole
    within ``body_total_timeout``. Past either, the app sees the client disconnect (a
    proxied upload is aborted), the caller gets 408 if no response has begun, and the
    connection is closed."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        body_read_timeout: float = 10.0,
        body_total_timeout: float = 20.0,
        max_body_bytes_by_path: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # Path patterns that take larger (or smaller) bodies, e.g. file uploads.
        self.body_limits = [
            (re.compile(pattern), limit)
            for pattern, limit in (max_body_bytes_by_path or {}).items()
        ]
        self.body_read_timeout = body_read_timeout
        self.body_total_timeout = body_total_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Whitespace around a field value is not part of it (RFC 9110 §5.5).
        incoming = (_header(scope, b"x-request-id") or "").strip(" \t")
        # One id end to end: one the gateway could not forward as it is gets replaced here.
        request_id = (
            incoming
            if incoming and len(incoming) <= 128 and is_visible_ascii(incoming)
            else uuid.uuid4().hex
        )
        request_id_var.set(request_id)
        trace_id = adopt_traceparent(_header(scope, b"traceparent"))
        started = time.perf_counter()
        status = 500
        method = scope["method"]

        limit = self._body_limit(scope["path"])
        declared = _header(scope, b"content-length")
        if (
            declared is not None
            and declared.isascii()
            and declared.isdigit()
            and int(declared) > limit
        ):
            await self._too_large(request_id, trace_id, limit)(scope, receive, send)
            self._record(scope, method, 413, started)
            return

        received = 0
        body_pending = True
        # Set when the body is refused: the answer that replaces the app's, if not begun.
        refusal: JSONResponse | None = None
        response_started = False
        loop = asyncio.get_running_loop()
        body_deadline = loop.time() + self.body_total_timeout

        async def limited_receive() -> Message:
            nonlocal received, body_pending, refusal
            if refusal is not None:
                # The app already saw the body end; anything listening for more must stop.
                return _DISCONNECT
            if not body_pending:  # only a disconnect is left to wait for
                return await receive()
            wait = min(self.body_read_timeout, body_deadline - loop.time())
            try:
                async with asyncio.timeout(max(wait, 0.0)):
                    message = await receive()
            except TimeoutError:
                refusal = self._too_slow(request_id, trace_id)
                return _DISCONNECT
            if message["type"] == "http.request":
                body_pending = message.get("more_body", False)
                received += len(message.get("body", b""))
                if received > limit:
                    # Stop reading; an answer not yet begun is replaced by the 413.
                    refusal = self._too_large(request_id, trace_id, limit)
                    return {"type": "http.request", "body": b"", "more_body": False}
            else:
                body_pending = False
            return message

        async def send_with_ids(message: Message) -> None:
            nonlocal status, response_started
            # A response the app began before the body was refused is let through whole.
            if refusal is not None and not response_started:
                if message["type"] == "http.response.start":
                    response_started = True
                    status = refusal.status_code
                    await refusal(scope, receive, send)
                return
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["x-request-id"] = request_id
                headers["x-trace-id"] = trace_id
                if "cache-control" not in headers:
                    headers["cache-control"] = "no-store"
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_ids)
            if refusal is not None and not response_started:
                # The app gave up on the body without answering.
                status = refusal.status_code
                await refusal(scope, receive, send)
        finally:
            self._record(scope, method, status, started)

    def _body_limit(self, path: str) -> int:
        for pattern, limit in self.body_limits:
            if pattern.fullmatch(path):
                return limit
        return self.max_body_bytes

    def _too_large(self, request_id: str, trace_id: str, limit: int) -> JSONResponse:
        return problem_response(
            413,
            PayloadTooLarge.title,
            type_uri=PayloadTooLarge.type_uri(),
            detail=f"Body exceeds {limit} bytes.",
            headers=_refusal_headers(request_id, trace_id),
        )

    def _too_slow(self, request_id: str, trace_id: str) -> JSONResponse:
        return problem_response(
            408,
            RequestTimeout.title,
            type_uri=RequestTimeout.type_uri(),
            detail=f"The body must arrive within {self.body_total_timeout:g} s, with no gap "
            f"over {self.body_read_timeout:g} s.",
            # The rest of the body may still come: the connection cannot carry another request.
            headers={**_refusal_headers(request_id, trace_id), "connection": "close"},
        )

    @staticmethod
    def _record(scope: Scope, method: str, status: int, started: float) -> None:
        elapsed = time.perf_counter() - started
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        HTTP_REQUESTS.labels(method, template, str(status)).inc()
        HTTP_LATENCY.labels(method, template).observe(elapsed)
        if scope.get("path") not in _QUIET_PATHS:
            log.info(
                "request",
                extra={
                    "method": method,
                    "path": scope.get("path"),
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
