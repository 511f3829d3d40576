"""The server as the services run it (uvicorn with the limited protocol, two listeners,
the common middleware), on real sockets with raw clients: head limits and timeouts,
body timeouts, the public/internal split, response headers."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI, Request

from customs_shared.app import install_common
from customs_shared.settings import ServiceSettings
from tests.support.served import served

HEAD_TIMEOUT = 0.6
BODY_IDLE = 0.6
BODY_TOTAL = 1.5


@dataclass
class Running:
    public: int
    internal: int
    settings: ServiceSettings


async def ok() -> None:
    return None


def build_app(settings: ServiceSettings) -> FastAPI:
    app = FastAPI()
    install_common(app, settings, {"ok": ok})

    @app.get("/things")
    async def things() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/things")
    async def create(request: Request) -> dict[str, int]:
        return {"length": len(await request.body())}

    return app


@pytest.fixture(scope="module")
async def running() -> AsyncIterator[Running]:
    async with served(
        build_app,
        header_read_timeout_seconds=HEAD_TIMEOUT,
        body_read_timeout_seconds=BODY_IDLE,
        body_total_timeout_seconds=BODY_TOTAL,
        log_level="WARNING",
    ) as settings:
        yield Running(settings.port, settings.internal_port, settings)


@dataclass
class Answer:
    status: int | None  # None: the connection closed without an answer
    headers: dict[str, str]
    body: bytes
    closed: bool  # the server closed the connection after answering
    elapsed: float


async def exchange(
    port: int, pieces: list[bytes], *, gap: float = 0.0, wait: float = 5.0
) -> Answer:
    """Sends ``pieces`` ``gap`` seconds apart (stopping if the server answers or closes),
    then reads one response; every step is bounded in time."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for piece in pieces:
            writer.write(piece)
            try:
                await writer.drain()
            except ConnectionError:
                break
            if gap:
                try:
                    early = await asyncio.wait_for(reader.read(1), gap)
                except TimeoutError:
                    continue
                return await _read(reader, early, started, wait)
        return await _read(reader, b"", started, wait)
    finally:
        writer.close()


async def _read(reader: asyncio.StreamReader, first: bytes, started: float, wait: float) -> Answer:
    data = bytearray(first)
    closed = False
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            chunk = await asyncio.wait_for(reader.read(65536), deadline - time.monotonic())
        except TimeoutError:
            break
        except ConnectionError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        data += chunk
        head, sep, body = bytes(data).partition(b"\r\n\r\n")
        if sep:
            headers = _headers(head)
            if len(body) >= int(headers.get("content-length", "-1")) >= 0:
                break
    elapsed = time.monotonic() - started
    if not data:
        return Answer(None, {}, b"", closed, elapsed)
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    if not closed and _headers(head).get("connection") == "close":
        try:
            closed = await asyncio.wait_for(reader.read(1), 1.0) == b""
        except TimeoutError:
            closed = False
        except ConnectionError:
            closed = True
    return Answer(int(head.split(b" ")[1]), _headers(head), body, closed, elapsed)


def _headers(head: bytes) -> dict[str, str]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    return {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}


def get(path: str, extra: bytes = b"") -> bytes:
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: test\r\n" + extra + b"\r\n"


# --- the head -------------------------------------------------------------------------


async def test_headers_sent_slowly_get_408_and_the_connection_closes(running: Running) -> None:
    lines = [b"GET /things HTTP/1.1\r\n"] + [b"X-Slow-%d: 1\r\n" % i for i in range(20)]

    answer = await exchange(running.public, lines, gap=0.2)

    assert answer.status == 408
    assert answer.headers["content-type"] == "application/problem+json"
    assert json.loads(answer.body)["status"] == 408
    assert answer.closed
    assert answer.elapsed < HEAD_TIMEOUT + 1.0


async def test_a_connection_that_sends_nothing_is_closed(running: Running) -> None:
    answer = await exchange(running.public, [], wait=HEAD_TIMEOUT + 2.0)

    assert answer.status is None
    assert answer.closed
    assert answer.elapsed < HEAD_TIMEOUT + 1.0


async def test_header_over_the_byte_limit_gets_431(running: Running) -> None:
    big = b"X-Big: " + b"a" * (running.settings.max_header_bytes + 1) + b"\r\n"

    answer = await exchange(running.public, [get("/things", big)])

    assert answer.status == 431
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.closed


async def test_a_huge_unfinished_header_is_cut_before_it_ends(running: Running) -> None:
    # httptools buffers a header until the next one starts: megabytes never arrive there.
    start = b"GET /things HTTP/1.1\r\nX-Big: "
    pieces = [start] + [b"a" * 8192] * 64

    answer = await exchange(running.public, pieces, gap=0.01)

    assert answer.status == 431
    assert answer.closed


async def test_one_header_over_the_count_limit_gets_431(running: Running) -> None:
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(running.settings.max_headers))  # + Host

    answer = await exchange(running.public, [get("/things", many)])

    assert answer.status == 431


async def test_ninety_five_short_headers_are_fine(running: Running) -> None:
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(94))  # + Host

    answer = await exchange(running.public, [get("/things", many)])

    assert answer.status == 200
    assert json.loads(answer.body) == {"status": "ok"}


# --- the body -------------------------------------------------------------------------


def post(length: int) -> bytes:
    return (
        b"POST /things HTTP/1.1\r\nHost: test\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Length: %d\r\n\r\n" % length
    )


async def test_a_body_that_stalls_gets_408_and_the_connection_closes(running: Running) -> None:
    answer = await exchange(running.public, [post(10) + b"abc"], wait=BODY_IDLE + 2.0)

    assert answer.status == 408
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["connection"] == "close"
    assert answer.closed
    assert answer.elapsed < BODY_IDLE + 1.0


async def test_a_body_trickled_past_the_total_deadline_gets_408(running: Running) -> None:
    pieces = [post(40)] + [b"x"] * 40  # a byte every 0.2 s: never idle, never done in time

    answer = await exchange(running.public, pieces, gap=0.2)

    assert answer.status == 408
    assert answer.closed
    assert answer.elapsed < BODY_TOTAL + 1.0


async def test_a_body_in_pieces_within_the_limits_is_read(running: Running) -> None:
    answer = await exchange(running.public, [post(6), b"abc", b"def"], gap=0.1)

    assert answer.status == 200
    assert json.loads(answer.body) == {"length": 6}


# --- listeners and headers ------------------------------------------------------------


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"])
async def test_probes_metrics_and_docs_only_on_the_internal_listener(
    running: Running, path: str
) -> None:
    public = await exchange(running.public, [get(path)])
    internal = await exchange(running.internal, [get(path)])

    assert public.status == 404
    assert public.headers["content-type"] == "application/problem+json"
    assert internal.status == 200


async def test_the_api_only_on_the_public_listener(running: Running) -> None:
    assert (await exchange(running.public, [get("/things")])).status == 200
    assert (await exchange(running.internal, [get("/things")])).status == 404


async def test_no_server_header_and_api_responses_are_not_cached(running: Running) -> None:
    answer = await exchange(running.public, [get("/things")])

    assert "server" not in answer.headers
    assert answer.headers["cache-control"] == "no-store"
