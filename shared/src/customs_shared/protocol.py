"""uvicorn's httptools protocol with limits it lacks: a deadline for the request head
and caps on its size and header count.

Neither uvicorn nor httptools bounds the head: a client sending one header line now
and then, or megabytes of headers, holds a connection (and the parser's buffer) as
long as it likes. Here the head must be complete within ``header_read_timeout``
(408, then close) and stay within ``max_header_bytes`` and ``max_headers`` (431,
then close). Body timeouts live in the ASGI middleware, which sees the body reads.

The hot path adds a counter per header and one timer per request, no task.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from customs_shared.problems import HeaderFieldsTooLarge, Problem, ProblemError, RequestTimeout

# Room for the request line's method and version, ": " and CRLF on each header line,
# and optional whitespace, when the head is counted as raw bytes before it is parsed.
_HEAD_SYNTAX_ALLOWANCE = 1024
_PER_HEADER_SYNTAX = 4


@dataclass(frozen=True)
class HeadLimits:
    header_read_timeout: float
    max_header_bytes: int
    max_headers: int


class _Refused(Exception):
    """Raised in a parser callback to stop parsing a head over the limits."""


def _problem_bytes(error: type[ProblemError], detail: str) -> bytes:
    problem = Problem(type=error.type_uri(), title=error.title, status=error.status, detail=detail)
    return problem.model_dump_json(exclude_none=True).encode()


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """Subclassed per process by :func:`limited_protocol`, which sets ``limits``."""

    limits: HeadLimits
    timeout_body: bytes
    too_large_body: bytes

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._head_timer: asyncio.TimerHandle | None = None
        self._in_head = False  # between a request's first byte and the end of its headers
        self._head_bytes = 0  # request target + header names and values, as parsed
        self._raw_head_bytes = 0  # bytes of chunks that held nothing but head
        self._header_count = 0
        self._refused = False

    # --- connection ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # A client that connects and never completes a head is cut too.
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # uvicorn's own, but a refusal raised by a callback gets its own answer.
        self._unset_keepalive_if_required()
        whole_chunk_is_head = self._in_head
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError:
            if self._refused:
                self._refuse(HeaderFieldsTooLarge.status, self.too_large_body)
                return
            self._invalid_request()
            return
        except httptools.HttpParserError:
            self._invalid_request()
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if whole_chunk_is_head and self._in_head:
            # httptools buffers a header until the next one starts: bound that buffer.
            self._raw_head_bytes += len(data)
            limit = (
                self.limits.max_header_bytes
                + self.limits.max_headers * _PER_HEADER_SYNTAX
                + _HEAD_SYNTAX_ALLOWANCE
            )
            if self._raw_head_bytes > limit:
                self._refuse(HeaderFieldsTooLarge.status, self.too_large_body)

    def _invalid_request(self) -> None:
        msg = "Invalid HTTP request received."
        self.logger.warning(msg)
        self.send_400_response(msg)

    # --- parser callbacks ---------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = self._raw_head_bytes = self._header_count = 0
        if self._head_timer is None:  # the first request keeps the deadline set at connect
            self._arm_head_timer()

    def on_url(self, url: bytes) -> None:
        self._count(len(url), headers=0)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value), headers=1)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._cancel_head_timer()
        super().on_headers_complete()

    def _count(self, size: int, *, headers: int) -> None:
        self._head_bytes += size
        self._header_count += headers
        if (
            self._head_bytes > self.limits.max_header_bytes
            or self._header_count > self.limits.max_headers
        ):
            self._refused = True
            raise _Refused

    # --- the head deadline --------------------------------------------------------

    def _arm_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(
            self.limits.header_read_timeout, self._head_timed_out
        )

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        busy = self.cycle is not None and not self.cycle.response_complete
        if self._in_head and not busy:
            self._refuse(RequestTimeout.status, self.timeout_body)
        else:
            # Nothing of a request arrived, or a pipelined head behind a running
            # request (whose response must not be interleaved): just close.
            self.transport.close()

    # --- answering ----------------------------------------------------------------

    def _refuse(self, status: int, body: bytes) -> None:
        self._cancel_head_timer()
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: application/problem+json\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"cache-control: no-store\r\n",
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()


def limited_protocol(limits: HeadLimits) -> type[LimitedHttpToolsProtocol]:
    """The protocol class to pass to uvicorn as ``http=``, bound to ``limits``."""
    return type(
        "LimitedHttpToolsProtocol",
        (LimitedHttpToolsProtocol,),
        {
            "limits": limits,
            "timeout_body": _problem_bytes(
                RequestTimeout,
                f"The request headers did not arrive within {limits.header_read_timeout:g} s.",
            ),
            "too_large_body": _problem_bytes(
                HeaderFieldsTooLarge,
                f"Request headers are limited to {limits.max_header_bytes} bytes "
                f"and {limits.max_headers} fields.",
            ),
        },
    )
