"""ASGI middleware: request/trace ids, access log, metrics, body size cap.

Written as plain ASGI (not BaseHTTPMiddleware) so streaming bodies and
background tasks keep working and the overhead stays small."""

from __future__ import annotations

import logging
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from customs_shared.context import adopt_traceparent, request_id_var
from customs_shared.metrics import HTTP_LATENCY, HTTP_REQUESTS
from customs_shared.problems import PayloadTooLarge, problem_response

log = logging.getLogger("customs.access")

_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class RequestContextMiddleware:
    """Sets request id and trace id, logs one line per request, records metrics,
    and refuses bodies over ``max_body_bytes`` with a 413 problem."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and len(incoming) <= 128 else uuid.uuid4().hex
        request_id_var.set(request_id)
        trace_id = adopt_traceparent(_header(scope, b"traceparent"))
        started = time.perf_counter()
        status = 500
        method = scope["method"]

        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(request_id, trace_id)(scope, receive, send)
            self._record(scope, method, 413, started)
            return

        received = 0
        too_large = False
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            if too_large:
                # The app already saw the body end; anything listening for more must stop.
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    # Stop reading; an answer not yet begun is replaced by the 413 below.
                    too_large = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def send_with_ids(message: Message) -> None:
            nonlocal status, response_started
            # A response the app began before the cap was crossed is let through whole.
            if too_large and not response_started:
                if message["type"] == "http.response.start":
                    status = 413
                    await self._too_large(request_id, trace_id)(scope, receive, send)
                return
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["x-request-id"] = request_id
                headers["x-trace-id"] = trace_id
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_ids)
        finally:
            self._record(scope, method, status, started)

    def _too_large(self, request_id: str, trace_id: str) -> JSONResponse:
        return problem_response(
            413,
            PayloadTooLarge.title,
            type_uri=PayloadTooLarge.type_uri(),
            detail=f"Body exceeds {self.max_body_bytes} bytes.",
            headers={"x-request-id": request_id, "x-trace-id": trace_id},
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
