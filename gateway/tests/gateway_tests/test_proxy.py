from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from collections.abc import AsyncIterator

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from customs_shared.context import parse_traceparent, request_id_var
from gateway.errors import InvalidHeader
from gateway.proxy import IncompleteBody, exactly, request_headers, response_headers
from gateway.tokens import TokenIssuer
from gateway_tests.support import (
    BROKER_ID,
    ECHO_LOCATION,
    Gateway,
    GatewayFactory,
    get_token,
)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_proxy_without_token_is_401_problem(gateway: Gateway) -> None:
    response = await gateway.client.get("/api/v1/declarations")

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["status"] == 401


async def test_proxy_with_forged_token_is_401(gateway: Gateway) -> None:
    """Same claims and the gateway's kid, but signed by another key."""
    now = int(time.time())
    claims = {
        "iss": "customs-gateway",
        "aud": "customs-api",
        "sub": BROKER_ID,
        "tenant": "0312345673",
        "roles": ["admin"],
        "scope": "",
        "iat": now,
        "exp": now + 600,
        "jti": "forged",
    }
    forged = jwt.encode(
        claims,
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": gateway.state["keys"].kid},
    )

    response = await gateway.client.get("/api/v1/declarations", headers=_bearer(forged))

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_proxy_with_expired_token_is_401(gateway: Gateway) -> None:
    old = TokenIssuer(
        gateway.state["keys"],
        issuer="customs-gateway",
        audience="customs-api",
        ttl_seconds=60,
        clock=lambda: time.time() - 3600,
    )
    client = gateway.state["clients"].get(BROKER_ID)
    assert client is not None
    token = old.issue(client, ["declarations:read"]).access_token

    response = await gateway.client.get("/api/v1/declarations", headers=_bearer(token))

    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


async def test_proxy_with_token_for_other_audience_is_401(gateway: Gateway) -> None:
    other = TokenIssuer(
        gateway.state["keys"], issuer="customs-gateway", audience="elsewhere", ttl_seconds=60
    )
    client = gateway.state["clients"].get(BROKER_ID)
    assert client is not None
    token = other.issue(client, []).access_token

    response = await gateway.client.get("/api/v1/declarations", headers=_bearer(token))

    assert response.status_code == 401


async def test_proxy_forwards_to_the_upstream(gateway: Gateway) -> None:
    token = await get_token(gateway.client)
    incoming_trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    body = b'{"items": [1, 2, 3]}'

    response = await gateway.client.post(
        "/api/v1/declarations/abc/items",
        params={"status": "201", "q": "a b/ü"},
        content=body,
        headers={
            **_bearer(token),
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Idempotency-Key": "key-123",
            "x-request-id": "req-abc-123",
            "traceparent": incoming_trace,
            "Cookie": "session=should-not-pass",
            "X-Forwarded-For": "10.6.6.6",
            "X-Internal-Role": "admin",
        },
    )

    assert response.status_code == 201, response.text
    echoed = response.json()
    assert echoed["method"] == "POST"
    assert echoed["path"] == "/api/v1/declarations/abc/items"
    assert echoed["query"] == "status=201&q=a+b%2F%C3%BC"
    assert base64.b64decode(echoed["body_b64"]) == body
    headers = echoed["headers"]
    assert headers["authorization"] == f"Bearer {token}"
    assert headers["content-type"] == "application/json"
    assert headers["accept"] == "application/json"
    assert headers["idempotency-key"] == "key-123"
    assert headers["x-request-id"] == "req-abc-123"
    parsed = parse_traceparent(headers["traceparent"])
    assert parsed is not None
    assert parsed[0] == "0af7651916cd43dd8448eb211c80319c"  # same trace
    assert parsed[1] != "b7ad6b7169203331"  # new span
    for private in ("cookie", "x-forwarded-for", "x-internal-role"):
        assert private not in headers
    # The response: status, body, content type, Location and service headers pass;
    # hop-by-hop headers do not; ids are the gateway's.
    assert response.headers["content-type"] == "application/json"
    assert response.headers["location"] == ECHO_LOCATION
    assert response.headers["idempotent-replayed"] == "true"
    assert "keep-alive" not in response.headers
    assert response.headers["x-request-id"] == "req-abc-123"


async def test_proxy_get_sends_no_body_and_keeps_encoded_path(gateway: Gateway) -> None:
    token = await get_token(gateway.client)

    response = await gateway.client.get(
        "/api/v1/ipr/records/ACME%20Corp%2F1", headers=_bearer(token)
    )

    assert response.status_code == 200
    echoed = response.json()
    assert echoed["method"] == "GET"
    assert echoed["raw_path"] == "/api/v1/ipr/records/ACME%20Corp%2F1"
    assert echoed["body_length"] == 0
    assert "transfer-encoding" not in echoed["headers"]
    assert echoed["headers"]["x-request-id"] == response.headers["x-request-id"]


async def test_proxy_forwards_a_path_with_an_encoded_line_break(gateway: Gateway) -> None:
    # Whatever the path holds is the service's to judge, not a gateway 404.
    token = await get_token(gateway.client)

    response = await gateway.client.get("/api/v1/ipr/records/a%0Ab", headers=_bearer(token))

    assert response.status_code == 200, response.text
    assert response.json()["raw_path"] == "/api/v1/ipr/records/a%0Ab"


async def test_proxy_streams_a_large_body(gateway_factory: GatewayFactory) -> None:
    body = bytes(range(256)) * 8192  # 2 MiB
    async with gateway_factory(max_body_bytes=4 * 1024 * 1024) as gw:
        token = await get_token(gw.client)

        response = await gw.client.put(
            "/api/v1/routing/rules/r1",
            content=body,
            headers={**_bearer(token), "Content-Type": "application/octet-stream"},
        )

    assert response.status_code == 200
    assert response.json()["body_length"] == len(body)
    assert response.json()["body_sha256"] == hashlib.sha256(body).hexdigest()


async def test_body_over_the_cap_is_413_before_forwarding(gateway: Gateway) -> None:
    token = await get_token(gateway.client)
    body = b"x" * (gateway.settings.max_body_bytes + 1)

    response = await gateway.client.post(
        "/api/v1/declarations", content=body, headers=_bearer(token)
    )

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


async def test_chunked_body_is_411_and_not_forwarded(gateway: Gateway) -> None:
    """Without a Content-Length the cap could only cut the body off midway, and the
    service would take the cut-off body for the whole one."""
    token = await get_token(gateway.client)
    chunk = b"y" * 65536
    chunks = gateway.settings.max_body_bytes // len(chunk) + 2

    async def body() -> AsyncIterator[bytes]:
        for _ in range(chunks):
            yield chunk

    response = await asyncio.wait_for(
        gateway.client.post("/api/v1/declarations", content=body(), headers=_bearer(token)),
        timeout=10,
    )

    assert response.status_code == 411
    assert response.headers["content-type"] == "application/problem+json"


async def test_proxy_passes_upstream_problem_unchanged(gateway: Gateway) -> None:
    token = await get_token(gateway.client)

    response = await gateway.client.get(
        "/api/v1/declarations/x", params={"problem": "1"}, headers=_bearer(token)
    )

    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {"type": "about:blank", "title": "Conflict", "status": 409}


async def test_proxy_upstream_down_is_502_problem(gateway: Gateway) -> None:
    token = await get_token(gateway.client)

    response = await gateway.client.get("/api/v1/signatures/reports/1", headers=_bearer(token))

    assert response.status_code == 502
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 502
    assert problem["type"].endswith("/bad-gateway")
    assert problem["request_id"] == response.headers["x-request-id"]


async def test_proxy_upstream_timeout_is_504_problem(gateway_factory: GatewayFactory) -> None:
    async with gateway_factory(upstream_timeout_seconds=0.2) as gw:
        token = await get_token(gw.client)

        response = await gw.client.get(
            "/api/v1/declarations/slow", params={"sleep": "1"}, headers=_bearer(token)
        )

    assert response.status_code == 504
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/gateway-timeout")


@pytest.mark.usefixtures("clear_of_a_window_edge")
async def test_proxy_rate_limit_per_client_is_429(gateway_factory: GatewayFactory) -> None:
    async with gateway_factory(rate_limit_per_minute=2) as gw:
        token = await get_token(gw.client)
        for _ in range(2):
            ok = await gw.client.get("/api/v1/declarations", headers=_bearer(token))
            assert ok.status_code == 200

        limited = await gw.client.get("/api/v1/declarations", headers=_bearer(token))

    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert int(limited.headers["retry-after"]) >= 1


@pytest.mark.usefixtures("clear_of_a_window_edge")
async def test_published_keys_pass_without_token_limited_per_source(
    gateway_factory: GatewayFactory,
) -> None:
    async with gateway_factory(rate_limit_per_minute=2) as gw:
        answers = [await gw.client.get("/api/v1/declarations/receipts/jwks.json") for _ in range(3)]
        # Only that path: its neighbours still ask for a token.
        neighbour = await gw.client.get("/api/v1/declarations/receipts/other.json")

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].headers["content-type"] == "application/problem+json"
    assert neighbour.status_code == 401


async def test_unknown_prefix_neighbour_is_404(gateway: Gateway) -> None:
    token = await get_token(gateway.client)

    response = await gateway.client.get("/api/v1/declarationsX", headers=_bearer(token))

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_dot_segments_are_refused(gateway: Gateway) -> None:
    token = await get_token(gateway.client)

    response = await gateway.client.get(
        "/api/v1/declarations/%2E%2E/%2E%2E/admin", headers=_bearer(token)
    )

    assert response.status_code == 400


def test_hop_by_hop_and_connection_listed_headers_are_stripped() -> None:
    upstream = [
        (b"Content-Type", b"application/json"),
        (b"Connection", b"close, X-Hop"),
        (b"X-Hop", b"1"),
        (b"Transfer-Encoding", b"chunked"),
        (b"Link", b"<a>; rel=next"),
        (b"Link", b"<b>; rel=prev"),
        (b"Server", b"uvicorn"),
    ]

    kept = response_headers(upstream)

    assert kept == [
        (b"content-type", b"application/json"),
        (b"link", b"<a>; rel=next"),
        (b"link", b"<b>; rel=prev"),
    ]
    sent = request_headers(
        [("Connection", "Idempotency-Key"), ("Idempotency-Key", "k"), ("Accept", "a/b")]
    )
    assert "idempotency-key" not in sent
    assert sent["accept"] == "a/b"


async def test_body_shorter_than_its_content_length_aborts_the_upstream_request() -> None:
    async def short() -> AsyncIterator[bytes]:
        yield b"abc"

    forwarded = exactly(short(), expected=10)

    assert await forwarded.__anext__() == b"abc"
    with pytest.raises(IncompleteBody):
        await forwarded.__anext__()


@pytest.mark.parametrize("name", ["Accept", "Accept-Language"])
def test_a_non_ascii_preference_header_is_dropped(name: str) -> None:
    sent = request_headers([(name, "fr-\xe9"), ("Content-Type", "application/json")])

    assert name.lower() not in sent
    assert sent["content-type"] == "application/json"


@pytest.mark.parametrize(
    "name", ["Idempotency-Key", "Content-Type", "If-Match", "If-None-Match", "Authorization"]
)
@pytest.mark.parametrize("value", ["order-\xe9", "a\x00b", "\x1b[31m", "\x7f"])
def test_a_header_that_changes_the_request_is_refused_when_not_ascii(name: str, value: str) -> None:
    with pytest.raises(InvalidHeader) as raised:
        request_headers([(name, value)])
    assert raised.value.status == 400
    assert value not in str(raised.value.detail)  # the problem does not echo the bytes


def test_a_request_id_the_services_cannot_read_is_replaced() -> None:
    token = request_id_var.set("caf\xe9")
    try:
        sent = request_headers([])
    finally:
        request_id_var.reset(token)

    assert sent["x-request-id"] != "caf\xe9"
    assert sent["x-request-id"].isascii()
    sent["x-request-id"].encode("ascii")  # what httpx will do with it


def test_visible_ascii_headers_pass_unchanged() -> None:
    token = request_id_var.set("req-1 a\tb")
    try:
        sent = request_headers(
            [("Idempotency-Key", "order 4711"), ("Accept-Language", "vi, en;q=0.8")]
        )
    finally:
        request_id_var.reset(token)

    assert sent["idempotency-key"] == "order 4711"
    assert sent["accept-language"] == "vi, en;q=0.8"
    assert sent["x-request-id"] == "req-1 a\tb"


@given(st.binary(max_size=40).map(lambda raw: raw.decode("latin-1")))
def test_any_forwarded_value_is_sent_ascii_or_refused(value: str) -> None:
    """Whatever latin-1 the server decoded, httpx can encode what goes out, or it is a 400."""
    token = request_id_var.set(value or "x")
    try:
        sent = request_headers(
            [("Accept-Language", value), ("X-Request-ID", value), ("Idempotency-Key", value)]
        )
    except InvalidHeader:
        return
    finally:
        request_id_var.reset(token)
    httpx.Request("GET", "http://upstream/", headers=sent)  # raises on what it cannot encode


def test_whitespace_around_a_forwarded_value_is_not_part_of_it() -> None:
    sent = request_headers([("Idempotency-Key", "! "), ("Accept", "\t*/*  ")])
    assert sent["idempotency-key"] == "!"
    assert sent["accept"] == "*/*"
