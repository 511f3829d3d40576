"""A service's routers called in-process over ASGI, with tokens a real TokenVerifier
checks (signed with a throwaway Ed25519 key): the same path a request takes through
``allow``, minus Kafka and the listener split."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Receive, Scope, Send

from customs_shared.auth import Principal, TokenVerifier
from customs_shared.problems import install_problem_handlers

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


@asynccontextmanager
async def api_client(
    app: FastAPI, sessions: async_sessionmaker[AsyncSession], tokens: Tokens
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``app`` whose requests see the lifespan state a service builds."""

    async def with_state(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "state": {"sessions": sessions, "token_verifier": tokens.verifier}}
        await app(scope, receive, send)

    served: ASGIApp = with_state
    transport = httpx.ASGITransport(app=served)
    async with httpx.AsyncClient(transport=transport, base_url="http://service.test") as client:
        yield client


class Caller:
    """Requests as one caller or another (None: no token at all)."""

    def __init__(self, client: httpx.AsyncClient, tokens: Tokens, prefix: str) -> None:
        self.client, self.tokens, self.prefix = client, tokens, prefix

    async def call(
        self, method: str, path: str, who: Principal | None, **kwargs: Any
    ) -> httpx.Response:
        headers = self.tokens.headers(who) if who is not None else {}
        return await self.client.request(method, self.prefix + path, headers=headers, **kwargs)
