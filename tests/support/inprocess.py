"""A service's API called in-process: its app with the lifespan state the endpoints read
(sessions on a test database, a token verifier, the runtime's settings) and bearer tokens
signed by a key of the test's own, as the gateway would sign them."""

from __future__ import annotations

import time
import uuid
from types import SimpleNamespace
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Receive, Scope, Send

from customs_shared.auth import Role, TokenVerifier
from customs_shared.settings import ServiceSettings

_ISSUER = "in-process-gateway"
_AUDIENCE = "customs-api"
_KID = "in-process"


class TokenIssuer:
    """Signs tokens with a fresh Ed25519 key and is the key source of the verifier."""

    def __init__(self) -> None:
        self._key = Ed25519PrivateKey.generate()
        public = jwt.algorithms.OKPAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        self._jwk = jwt.PyJWK({**public, "kid": _KID}, algorithm="EdDSA")

    async def get(self, kid: str) -> jwt.PyJWK | None:
        return self._jwk if kid == _KID else None

    def verifier(self) -> TokenVerifier:
        return TokenVerifier(self, issuer=_ISSUER, audience=_AUDIENCE, algorithms=["EdDSA"])

    def token(self, role: Role, tenant: str, *scopes: str, subject: str | None = None) -> str:
        now = int(time.time())
        claims = {
            "iss": _ISSUER,
            "aud": _AUDIENCE,
            "sub": subject or f"{role.value}-{tenant}",
            "tenant": tenant,
            "roles": [role.value],
            "scope": " ".join(scopes),
            "iat": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self._key, algorithm="EdDSA", headers={"kid": _KID})

    def headers(
        self, role: Role, tenant: str, *scopes: str, subject: str | None = None
    ) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, tenant, *scopes, subject=subject)}"}


def with_state(app: ASGIApp, state: dict[str, Any]) -> ASGIApp:
    """``app`` as if its lifespan had yielded ``state`` (httpx's transport runs none)."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope["state"] = dict(state)
        await app(scope, receive, send)

    return wrapped


def client(
    app: ASGIApp,
    *,
    sessions: async_sessionmaker[AsyncSession],
    issuer: TokenIssuer,
    settings: ServiceSettings,
) -> httpx.AsyncClient:
    state = {
        "sessions": sessions,
        "token_verifier": issuer.verifier(),
        "runtime": SimpleNamespace(settings=settings),
    }
    transport = httpx.ASGITransport(app=with_state(app, state), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://routing.test")
