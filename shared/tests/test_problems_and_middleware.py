"""Problem details and the request middleware, on a bare app (no DB, no Kafka)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import BaseModel
from starlette.types import Receive, Scope, Send

from customs_shared.app import install_common
from customs_shared.middleware import RequestContextMiddleware
from customs_shared.problems import Conflict
from customs_shared.settings import ServiceSettings


class Body(BaseModel):
    name: str


async def failing_check() -> None:
    raise ConnectionError("db down")


def build_app() -> FastAPI:
    app = FastAPI()
    settings = ServiceSettings(max_body_bytes=1024, max_body_bytes_by_path={"/uploads": 4096})
    install_common(app, settings, {"database": failing_check})

    @app.post("/things")
    async def create(body: Body) -> dict[str, str]:
        if body.name == "taken":
            raise Conflict("That name is taken.", name=body.name)
        if body.name == "boom":
            raise RuntimeError("secret internals")
        return {"name": body.name}

    @app.post("/uploads")
    async def upload(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def test_raised_problem_is_rendered_with_its_type_and_extensions(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/things", json={"name": "taken"}, headers={"x-request-id": "r-1"})
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/conflict")
    assert body["detail"] == "That name is taken."
    assert body["name"] == "taken"
    assert body["instance"] == "/things"
    assert body["request_id"] == "r-1"
    assert response.headers["x-request-id"] == "r-1"


async def test_unexpected_error_is_a_500_problem_without_internals(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/things", json={"name": "boom"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "secret" not in response.text


async def test_validation_error_lists_locations(client: httpx.AsyncClient) -> None:
    response = await client.post("/things", json={"nom": "x"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "name"]


@pytest.mark.parametrize("body", [b'{"name": "x', b'{"name": "\xff\xfe"}'])
async def test_a_body_that_is_not_json_is_a_422_problem(
    client: httpx.AsyncClient, body: bytes
) -> None:
    # Broken syntax and bytes that are not UTF-8 alike: the one documented answer.
    response = await client.post(
        "/things", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["type"] for e in response.json()["errors"]] == ["json_invalid"]


async def test_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_body_over_the_cap_is_413_declared_or_streamed(client: httpx.AsyncClient) -> None:
    declared = await client.post("/things", content=b"x" * 2048)
    assert declared.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"x" * 512

    streamed = await client.post("/things", content=chunks())
    assert streamed.status_code == 413
    assert streamed.headers["content-type"] == "application/problem+json"


async def test_a_path_with_its_own_cap_takes_larger_bodies_and_no_more(
    client: httpx.AsyncClient,
) -> None:
    fits = await client.post("/uploads", content=b"x" * 3000)
    over = await client.post("/uploads", content=b"x" * 5000)
    elsewhere = await client.post("/things", content=b"x" * 3000)
    assert (fits.status_code, fits.json()) == (200, {"size": 3000})
    assert (over.status_code, elsewhere.status_code) == (413, 413)
    assert over.json()["detail"] == "Body exceeds 4096 bytes."


async def test_trace_id_continues_the_callers_trace(client: httpx.AsyncClient) -> None:
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    response = await client.post(
        "/things", json={"name": "a"}, headers={"traceparent": f"00-{trace}-00f067aa0ba902b7-01"}
    )
    assert response.headers["x-trace-id"] == trace


async def test_probes_and_metrics(client: httpx.AsyncClient) -> None:
    internal = f"http://test:{ServiceSettings().internal_port}"
    await client.post("/things", json={"name": "a"})
    assert (await client.get(f"{internal}/healthz")).status_code == 200
    ready = await client.get(f"{internal}/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == "failed: ConnectionError"
    metrics = (await client.get(f"{internal}/metrics")).text
    assert 'http_requests_total{method="POST",route="/things",status="200"}' in metrics


async def test_response_begun_before_the_cap_is_crossed_is_not_cut() -> None:
    async def early_answer(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.body", "body": b"done"})

    app = RequestContextMiddleware(early_answer, max_body_bytes=1024)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"x" * 512

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        response = await c.post("/", content=chunks())
    assert response.status_code == 200
    assert response.content == b"done"


@pytest.mark.parametrize("raw", [b"caf\xe9", b"a\x01b", b"x" * 129, b" ", b"\t"])
async def test_an_unusable_request_id_is_replaced(client: httpx.AsyncClient, raw: bytes) -> None:
    response = await client.post(
        "/things", json={"name": "taken"}, headers=[(b"x-request-id", raw)]
    )
    echoed = response.headers["x-request-id"]
    assert echoed.encode() != raw
    assert len(echoed) == 32
    assert echoed.isalnum()
    assert response.json()["request_id"] == echoed


async def test_a_request_id_is_taken_without_surrounding_whitespace(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/things", json={"name": "taken"}, headers=[(b"x-request-id", b"! ")]
    )
    assert response.headers["x-request-id"] == "!"
