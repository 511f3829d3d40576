"""Reverse proxy from ``/api/v1/<service>/…`` to the service that owns the path.

The gateway verifies the bearer token itself and applies the per-client rate
limit before anything reaches a service; the service verifies the token again
(the caller's ``Authorization`` header is forwarded). The few public keys a
service publishes (``PUBLIC_PATHS``) are forwarded to anyone, limited per source
address. Request headers are an
allowlist; response headers pass through minus hop-by-hop and the ones the
gateway sets itself. Bodies up to 64 KiB (a declaration, a lane, a page of a list) are
passed on whole; larger ones (documents) are streamed both ways.

Request bodies must come with a ``Content-Length`` (411 otherwise). The shared
middleware then refuses bodies over the cap before anything is read, and the
proxy checks that exactly that many bytes went out, so a service never receives
a cut-off body as if it were complete.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

import aiohttp
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send
from yarl import URL

from customs_shared.auth import CurrentPrincipal
from customs_shared.context import current_traceparent, request_id_var
from customs_shared.problems import BadGateway, BadRequest, NotFound, TooManyRequests
from customs_shared.text import is_visible_ascii
from gateway.breaker import CircuitBreaker
from gateway.errors import GatewayTimeout, InvalidHeader, LengthRequired
from gateway.metrics import RATE_LIMITED, UPSTREAM_LATENCY, UPSTREAM_REQUESTS
from gateway.state import Proxying, ProxyTools
from gateway.token_limits import source_of

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
# Public keys that verify what a service signed, served without a token as the gateway's
# own JWKS is: whoever is shown a receipt (an auditor, a court, the trader's bank) has no
# client of ours. (upstream path segment, rest of the path)
PUBLIC_PATHS = (("declarations", "/receipts/jwks.json"),)

# RFC 9110 §7.6.1 plus the classic hop-by-hop set.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
FORWARDED_REQUEST_HEADERS = frozenset(
    {
        "accept",
        "accept-language",
        "authorization",
        "content-length",
        "content-type",
        "idempotency-key",
        "if-match",
        "if-none-match",
    }
)
# A value that is not visible ASCII cannot be sent on (the upstream client sends ASCII).
# These two only state preferences, which a service may ignore anyway: dropped. Every
# other forwarded header changes what the request means (credentials, body, retry
# identity, preconditions), so forwarding the request without it would do something
# the caller did not ask for: refused with a 400 problem.
_DROPPED_IF_NOT_ASCII = frozenset({"accept", "accept-language"})
# Set by the gateway's own server and middleware on every response.
_OWN_RESPONSE_HEADERS = frozenset({"date", "server", "x-request-id", "x-trace-id"})


def _connection_listed(pairs: Iterable[tuple[str, str]]) -> set[str]:
    listed: set[str] = set()
    for key, value in pairs:
        if key.lower() == "connection":
            listed.update(token.strip().lower() for token in value.split(","))
    return listed


def request_headers(incoming: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The allowlisted caller headers, plus the request id and a fresh ``traceparent``."""
    pairs = list(incoming)
    dropped = HOP_BY_HOP | _connection_listed(pairs)
    headers: dict[str, str] = {}
    for key, value in pairs:
        name = key.lower()
        if name not in FORWARDED_REQUEST_HEADERS or name in dropped:
            continue
        # Whitespace around a field value is not part of it (RFC 9110 §5.5), and the
        # upstream client refuses to send it.
        value = value.strip(" \t")
        if not is_visible_ascii(value):
            if name in _DROPPED_IF_NOT_ASCII:
                continue
            raise InvalidHeader(f"The {key} header may hold only visible ASCII characters.")
        headers[name] = value
    request_id = request_id_var.get()
    if request_id:
        # A caller's id the services could not read back is replaced, not forwarded.
        headers["x-request-id"] = request_id if is_visible_ascii(request_id) else uuid.uuid4().hex
    headers["traceparent"] = current_traceparent()
    # Bodies pass through as they are: ask for them unencoded, nothing to re-encode.
    headers["accept-encoding"] = "identity"
    return headers


def response_headers(raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The service's headers as sent (repeats kept), minus hop-by-hop and our own."""
    pairs = [(key.decode("latin-1").lower(), key, value) for key, value in raw]
    listed = _connection_listed((name, value.decode("latin-1")) for name, _, value in pairs)
    dropped = HOP_BY_HOP | _OWN_RESPONSE_HEADERS | listed
    return [(key.lower(), value) for name, key, value in pairs if name not in dropped]


# A body this small is cheaper read at once than streamed: a stream costs an async
# iterator per request and a task group per response.
WHOLE_BODY_MAX_BYTES = 64 * 1024


class WholeUpstreamResponse(Response):
    """A service's small response, read in full."""

    def __init__(self, upstream: aiohttp.ClientResponse, body: bytes) -> None:
        super().__init__(body, status_code=upstream.status)
        self.raw_headers = response_headers(upstream.raw_headers)


def _content_length(value: str) -> int | None:
    """A Content-Length value as a number; None when it is not one (digits only)."""
    return int(value) if value.isascii() and value.isdigit() else None


def _small(upstream: aiohttp.ClientResponse) -> bool:
    declared = _content_length(upstream.headers.get("content-length", ""))
    return declared is not None and declared <= WHOLE_BODY_MAX_BYTES


class UpstreamResponse(StreamingResponse):
    """Streams a service's response and always returns its connection to the pool,
    also when the caller disconnects midway."""

    def __init__(self, upstream: aiohttp.ClientResponse) -> None:
        super().__init__(upstream.content.iter_any(), status_code=upstream.status)
        self.raw_headers = response_headers(upstream.raw_headers)
        self._upstream = upstream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # A body not read to its end closes the connection rather than reusing it.
            self._upstream.release()


def upstream_url(base: str, request: Request) -> URL:
    """``base`` + the request's path and query, both exactly as the caller encoded them."""
    raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode("ascii")
    raw_path = raw_path.split(b"?", 1)[0]  # some ASGI servers include the query
    query: bytes = request.scope.get("query_string", b"")
    tail = raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
    target = URL(base, encoded=True)
    return URL(str(target.origin()) + target.raw_path.rstrip("/") + tail, encoded=True)


class IncompleteBody(Exception):
    pass


async def request_body(request: Request) -> bytes | AsyncIterator[bytes] | None:
    """The body to forward, or None if there is none: read in full when small, else a
    stream that fails if it ends before its Content-Length."""
    if "transfer-encoding" in request.headers:
        raise LengthRequired("Send request bodies with a Content-Length header.")
    expected = _content_length(request.headers.get("content-length", "0"))
    if expected is None:
        raise BadRequest("Content-Length is not valid.")
    if not expected:
        return None
    if expected > WHOLE_BODY_MAX_BYTES:
        return exactly(request.stream(), expected)
    body = await request.body()  # ClientDisconnect if the caller breaks off
    if len(body) != expected:
        raise IncompleteBody
    return body


async def exactly(stream: AsyncIterator[bytes], expected: int) -> AsyncIterator[bytes]:
    """Passes the body on; raises (aborting the upstream request mid-body) if it ends
    before ``expected`` bytes."""
    sent = 0
    async for chunk in stream:
        sent += len(chunk)
        yield chunk
    if sent != expected:
        raise IncompleteBody


def _check_path(service: str, rest: str) -> None:
    if rest and not rest.startswith("/"):
        raise NotFound(f"No route for {API_PREFIX}/{service}{rest}.")
    if any(segment in {".", ".."} for segment in rest.split("/")):
        raise BadRequest("Dot segments are not allowed in paths.")


def _caller_broke_off(exc: BaseException) -> bool:
    """Whether the caller's body ending early is what failed the upstream request (the
    client wraps the body iterator's exception in its own)."""
    seen: BaseException | None = exc
    for _ in range(8):  # bounded: a chain of causes is short
        if seen is None:
            return False
        if isinstance(seen, (ClientDisconnect, IncompleteBody)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


async def forward(
    request: Request,
    service: str,
    *,
    http: aiohttp.ClientSession,
    base_url: str,
    breaker: CircuitBreaker,
) -> Response:
    headers = request_headers(request.headers.items())
    try:
        content = await request_body(request)
    except (ClientDisconnect, IncompleteBody) as exc:
        UPSTREAM_REQUESTS.labels(service, "client-aborted").inc()
        raise BadRequest("The request body ended before its Content-Length.") from exc
    breaker.before_call()
    started = time.perf_counter()
    try:
        upstream = await http.request(
            request.method,
            upstream_url(base_url, request),
            headers=headers,
            data=content,
            allow_redirects=False,
        )
    except TimeoutError as exc:  # aiohttp's connect and read timeouts are TimeoutErrors
        breaker.failed()
        UPSTREAM_REQUESTS.labels(service, "timeout").inc()
        log.warning("upstream timed out", extra={"upstream": service, "error": type(exc).__name__})
        raise GatewayTimeout(f"The {service} service did not answer in time.") from exc
    except (ClientDisconnect, IncompleteBody, aiohttp.ClientError, OSError) as exc:
        if _caller_broke_off(exc):
            breaker.succeeded()  # the caller's fault, not the service's
            UPSTREAM_REQUESTS.labels(service, "client-aborted").inc()
            raise BadRequest("The request body ended before its Content-Length.") from exc
        breaker.failed()
        UPSTREAM_REQUESTS.labels(service, "unreachable").inc()
        log.warning("upstream failed", extra={"upstream": service, "error": type(exc).__name__})
        raise BadGateway(f"The {service} service is not reachable.") from exc
    except BaseException:
        breaker.abandoned()  # cancelled mid-call: no verdict on the service
        raise
    breaker.succeeded()
    UPSTREAM_LATENCY.labels(service).observe(time.perf_counter() - started)
    UPSTREAM_REQUESTS.labels(service, str(upstream.status)).inc()
    if not _small(upstream):
        return UpstreamResponse(upstream)
    try:
        body = await upstream.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("upstream failed", extra={"upstream": service, "error": type(exc).__name__})
        raise BadGateway(f"The {service} service broke off its answer.") from exc
    finally:
        upstream.release()
    return WholeUpstreamResponse(upstream, body)


async def _limited_forward(
    request: Request,
    service: str,
    tools: ProxyTools,
    *,
    key: tuple[str, ...],
    limit: int | None,
    limiter_name: str,
) -> Response:
    try:
        await tools.limiter.check(*key, limit=limit)
    except TooManyRequests:
        RATE_LIMITED.labels(limiter_name).inc()
        raise
    return await forward(
        request,
        service,
        http=tools.http,
        base_url=tools.upstreams[service],
        breaker=tools.breakers[service],
    )


def _endpoint(service: str) -> Callable[..., Awaitable[Response]]:
    async def proxy(
        request: Request, rest: str, principal: CurrentPrincipal, tools: Proxying
    ) -> Response:
        _check_path(service, rest)
        client = tools.clients.get(principal.subject)
        return await _limited_forward(
            request,
            service,
            tools,
            key=(principal.subject,),
            limit=client.rate_limit_per_minute if client is not None else None,
            limiter_name="api",
        )

    proxy.__name__ = f"proxy_{service}"
    return proxy


def _public_endpoint(service: str) -> Callable[..., Awaitable[Response]]:
    async def public(request: Request, tools: Proxying) -> Response:
        return await _limited_forward(
            request,
            service,
            tools,
            key=("public", source_of(request)),
            limit=None,
            limiter_name="public",
        )

    public.__name__ = f"public_{service}"
    return public


class _Rest(Convertor[str]):
    """The rest of the path, line breaks too: Starlette's ``path`` (``.*``) stops at an
    encoded ``%0A``, which made the gateway answer 404 for a path the service judges."""

    regex = "(?s:.*)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("rest", _Rest())


def proxy_router(segments: Iterable[str]) -> APIRouter:
    """One catch-all route per upstream path segment; the services publish their own
    OpenAPI."""
    router = APIRouter()
    segments = list(segments)
    # Before the catch-alls, which would ask for a token.
    for service, rest in PUBLIC_PATHS:
        if service in segments:
            router.add_api_route(
                f"{API_PREFIX}/{service}{rest}",
                _public_endpoint(service),
                methods=["GET", "HEAD"],
                include_in_schema=False,
            )
    for service in segments:
        router.add_api_route(
            f"{API_PREFIX}/{service}{{rest:rest}}",
            _endpoint(service),
            methods=METHODS,
            include_in_schema=False,
        )
    return router
