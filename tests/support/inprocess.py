"""A service's routers called in-process over ASGI, with tokens a real TokenVerifier
checks (signed with a throwaway Ed25519 key): the same path a request takes through
``allow``, minus Kafka and the listener split."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Receive, Scope, Send

from customs_shared.auth import Principal, TokenVerifier
from customs_shared.problems import install_problem_handlers
from customs_shared.settings import ServiceSettings

_ISSUER = "customs-gateway-test"
_AUDIENCE = "customs-api"
_KID = "inprocess"


class Tokens:
    """Issues bearer tokens as the gateway would, and the verifier that accepts them."""

    def __init__(self) -> None:
        self._key = Ed25519PrivateKey.generate()
        public = jwt.algorithms.OKPAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        self._jwk = jwt.PyJWK({**public, "kid": _KID}, algorithm="EdDSA")
        self.verifier = TokenVerifier(
            self, issuer=_ISSUER, audience=_AUDIENCE, algorithms=["EdDSA"]
        )

    async def get(self, kid: str) -> jwt.PyJWK | None:
        return self._jwk if kid == _KID else None

    def issue(self, principal: Principal, *, ttl_seconds: int = 300) -> str:
        now = int(time.time())
        claims = {
            "iss": _ISSUER,
            "aud": _AUDIENCE,
            "sub": principal.subject,
            "tenant": principal.tenant,
            "roles": sorted(r.value for r in principal.roles),
            "scope": " ".join(sorted(principal.scopes)),
            "iat": now,
            "exp": now + ttl_seconds,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self._key, algorithm="EdDSA", headers={"kid": _KID})

    def headers(self, principal: Principal) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issue(principal)}"}


def service_app(
    routers: Sequence[APIRouter], configure: Callable[[FastAPI], None] | None = None
) -> FastAPI:
    """The routers with the problem handlers every service installs."""
    app = FastAPI()
    install_problem_handlers(app)
    for router in routers:
        app.include_router(router)
    if configure is not None:
        configure(app)
    return app


def client(
    app: FastAPI,
    sessions: async_sessionmaker[AsyncSession],
    tokens: Tokens,
    settings: ServiceSettings | None = None,
) -> httpx.AsyncClient:
    """A client of ``app`` whose requests see the lifespan state a service builds
    (with ``settings``, the runtime's too: ``service_runtime(request).settings``)."""
    state: dict[str, Any] = {"sessions": sessions, "token_verifier": tokens.verifier}
    if settings is not None:
        state["runtime"] = SimpleNamespace(settings=settings)

    async def with_state(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "state": dict(state)}
        await app(scope, receive, send)

    served: ASGIApp = with_state
    transport = httpx.ASGITransport(app=served, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://service.test")


@asynccontextmanager
async def api_client(
    app: FastAPI, sessions: async_sessionmaker[AsyncSession], tokens: Tokens
) -> AsyncIterator[httpx.AsyncClient]:
    """:func:`client`, closed at the end of the block."""
    async with client(app, sessions, tokens) as http:
        yield http


class Caller:
    """Requests as one caller or another (None: no token at all)."""

    def __init__(self, client: httpx.AsyncClient, tokens: Tokens, prefix: str) -> None:
        self.client, self.tokens, self.prefix = client, tokens, prefix

    async def call(
        self, method: str, path: str, who: Principal | None, **kwargs: Any
    ) -> httpx.Response:
        headers = self.tokens.headers(who) if who is not None else {}
        return await self.client.request(method, self.prefix + path, headers=headers, **kwargs)

    async def pages(
        self, path: str, who: Principal, *, key: str = "id", **query: Any
    ) -> tuple[list[list[Any]], list[Any]]:
        """Every page of a listing that pages by ``after`` / ``next_after``, from the first
        to the one whose ``next_after`` is null (ten at most): each page's items' ``key``,
        and each page's ``next_after``."""
        pages: list[list[Any]] = []
        cursors: list[Any] = []
        while len(pages) < 10 and (not cursors or cursors[-1] is not None):
            after = {"after": cursors[-1]} if cursors else {}
            response = await self.call("GET", path, who, params=query | after)
            assert response.status_code == 200, response.text
            body = response.json()
            pages.append([item[key] for item in body["items"]])
            cursors.append(body["next_after"])
        return pages, cursors


_PARAMETER = re.compile(r"\{(\w+)(:\w+)?\}")


def _concrete(path: str, ids: dict[str, str]) -> str:
    return _PARAMETER.sub(lambda match: ids[match.group(1)], path)


def object_routes(app: FastAPI, *, shared: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """(method, path) of each API route that names an object: a path parameter, none of
    ``shared`` (parameters that name no one's object, like a currency)."""
    return [
        (method, context.path)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        and context.path is not None
        and (names := set(re.findall(r"\{(\w+)", context.path)))
        and not names & shared
        for method in sorted((context.methods or set()) - {"HEAD"})
    ]


async def answers_as_for_nothing(
    caller: Caller,
    routes: Sequence[tuple[str, str]],
    strangers: Sequence[Principal],
    *,
    owned: dict[str, str],
    unknown: dict[str, str],
    body: Callable[[str, str], dict[str, Any]],
    reads_are_404: bool,
) -> list[tuple[str, str, str, int, int]]:
    """Calls every route as each stranger, once with the ids of objects someone else owns
    and once with ids of nothing; returns each call that tells the two apart or is not
    a 403/404 (with ``reads_are_404``, a GET must be 404). As if the object did not
    exist: 404, or the 403 of a role or body check that does not depend on the id."""
    wrong = []
    for method, path in routes:
        for stranger in strangers:
            answers = []
            for ids in (owned, unknown):
                concrete = _concrete(path, ids)
                response = await caller.call(method, concrete, stranger, **body(method, path))
                answers.append(response.status_code)
            mine, nobodys = answers
            refused = mine in {403, 404} and not (reads_are_404 and method == "GET" and mine != 404)
            if mine != nobodys or not refused:
                wrong.append((method, path, stranger.subject, mine, nobodys))
    return wrong
