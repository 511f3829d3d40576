"""Access tokens: EdDSA-signed JWTs with the claims every service expects."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import jwt

from customs_shared.keys import ALGORITHM, KeyRing
from gateway.clients import OAuthClient


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    token_id: str
    expires_in: int
    scope: str


class TokenIssuer:
    def __init__(
        self,
        keys: KeyRing,
        *,
        issuer: str,
        audience: str,
        ttl_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl_seconds
        self._clock = clock

    def issue(self, client: OAuthClient, scopes: Sequence[str]) -> IssuedToken:
        now = int(self._clock())
        token_id = str(uuid.uuid4())
        scope = " ".join(scopes)
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": client.client_id,
            "client_id": client.client_id,  # RFC 9068 §2.2
            "tenant": client.tenant,
            "roles": [role.value for role in client.roles],
            "scope": scope,
            "iat": now,
            "nbf": now,
            "exp": now + self._ttl,
            "jti": token_id,
        }
        token = jwt.encode(
            claims,
            self._keys.signing_key,
            algorithm=ALGORITHM,
            headers={"kid": self._keys.kid, "typ": "at+jwt"},  # RFC 9068 §2.1
        )
        return IssuedToken(token, token_id, self._ttl, scope)
