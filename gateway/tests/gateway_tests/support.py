"""Helpers for the gateway tests: test clients, an HTTP echo service, running a
gateway app through its lifespan, token requests."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, cast

import httpx
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.main import create_app
from gateway.settings import GatewaySettings
from gateway.state import GatewayState

BROKER_ID = "test-broker"
BROKER_SECRET = "test-broker-secret-0123456789"
BROKER_TENANT = "0312345673"
OFFICER_ID = "test-officer"
OFFICER_SECRET = "test-officer-secret-0123456789"
PARTNER_ID = "test-partner"
PARTNER_SECRET = "test-partner-secret-0123456789"
PARTNER_SOURCE = "urn:customs:partner:test-radiation"
OTHER_PARTNER_ID = "test-partner-other"
OTHER_PARTNER_SECRET = "test-partner-other-secret-0123456789"
OTHER_PARTNER_SOURCE = "urn:customs:partner:test-other-radiation"
ADMIN_ID = "test-admin"
ADMIN_SECRET = "test-admin-secret-0123456789"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode("ascii")


async def get_token(
    client: httpx.AsyncClient,
    client_id: str = BROKER_ID,
    secret: str = BROKER_SECRET,
    **form: str,
) -> str:
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", **form},
        headers={"Authorization": basic(client_id, secret)},
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


# --- the echo service ------------------------------------------------------------------

ECHO_LOCATION = "/api/v1/declarations/0b9c4a8e"


async def _echo(request: Request) -> Response:
    body = await request.body()
    query = request.query_params
    if "sleep" in query:
        await asyncio.sleep(float(query["sleep"]))
    if "problem" in query:
        return Response(
            json.dumps({"type": "about:blank", "title": "Conflict", "status": 409}),
            status_code=409,
            media_type="application/problem+json",
        )
    status = int(query.get("status", "200"))
    payload: dict[str, Any] = {
        "method": request.method,
        "path": request.url.path,
        "raw_path": request.scope["raw_path"].decode("latin-1"),
        "query": request.scope["query_string"].decode("latin-1"),
        "body_b64": base64.b64encode(body[:4096]).decode("ascii"),
        "body_length": len(body),
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "headers": dict(request.headers.items()),
    }
    headers: dict[str, str] = {}
    if status == 201:
        headers = {
            "Location": ECHO_LOCATION,
            "Idempotent-Replayed": "true",
            "Keep-Alive": "timeout=5",
        }
    return JSONResponse(payload, status_code=status, headers=headers)


def echo_app() -> Starlette:
    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
    # The gateway's own catch-all convertor: every path, line breaks too, is echoed.
    return Starlette(routes=[Route("/{path:rest}", _echo, methods=methods)])


# --- the gateway under test ------------------------------------------------------------


def with_state(app: ASGIApp, state: GatewayState) -> ASGIApp:
    """What an ASGI server does with lifespan state: a shallow copy into each request."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in {"http", "websocket"}:
            scope = {**scope, "state": dict(state)}
        await app(scope, receive, send)

    return wrapped


@dataclass
class Gateway:
    client: httpx.AsyncClient
    state: GatewayState
    settings: GatewaySettings
    app: ASGIApp

    def client_from(self, host: str) -> httpx.AsyncClient:
        """A client whose requests reach the app from ``host`` (the ASGI client address,
        which is what uvicorn puts there for a direct peer or a trusted proxy's
        X-Forwarded-For)."""
        transport = httpx.ASGITransport(app=self.app, client=(host, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://gateway.test")


GatewayFactory = Callable[..., contextlib.AbstractAsyncContextManager[Gateway]]


def internal_url(gateway: Gateway, path: str) -> str:
    """``path`` on the internal listener: the app tells listeners apart by port."""
    return f"http://gateway.test:{gateway.settings.internal_port}{path}"


@contextlib.asynccontextmanager
async def run_gateway(settings: GatewaySettings) -> AsyncIterator[Gateway]:
    """The app with its lifespan running, and a client that talks to it in-process."""
    app: FastAPI = create_app(settings)
    async with app.router.lifespan_context(app) as raw_state:
        state = cast(GatewayState, raw_state)
        stateful = with_state(app, state)
        transport = httpx.ASGITransport(app=stateful)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield Gateway(client, state, settings, stateful)
