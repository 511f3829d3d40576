"""``private_key_jwt`` client authentication (RFC 7523 §2.2, OpenID Connect Core §9): a
client proves who it is with a short-lived JWT signed by its own private key, instead of
a shared secret. The gateway keeps only the client's public keys (a JWK Set in its
registration).

The assertion must name the client as ``iss`` and ``sub``, the gateway's token endpoint
(or its issuer) as ``aud``, expire within ``MAX_LIFETIME`` and carry a ``jti`` that was
never used before: each is claimed once in the gateway's database, so a captured
assertion cannot be replayed on any replica."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.db import insert_if_absent
from gateway.client_admin.models import UsedClientAssertion
from gateway.clients import OAuthClient

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ["EdDSA", "ES256"]
MAX_LIFETIME = timedelta(minutes=5)
_LEEWAY_SECONDS = 5


class InvalidAssertion(Exception):
    """Why an assertion was refused (logged; the client gets ``invalid_client``)."""


def claimed_client(assertion: str) -> str:
    """The client id an assertion claims (its ``sub``), before anything is verified: the
    rate limits are keyed on it."""
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise InvalidAssertion("not a JWT") from exc
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 128:
        raise InvalidAssertion("no sub")
    return subject


def _key(client: OAuthClient, assertion: str) -> jwt.PyJWK:
    if not client.jwks:
        raise InvalidAssertion("the client has no registered public keys")
    header = jwt.get_unverified_header(assertion)
    if header.get("alg") not in ALGORITHMS:
        raise InvalidAssertion(f"algorithm {header.get('alg')!r} not accepted")
    keys = jwt.PyJWKSet.from_dict(client.jwks).keys
    kid = header.get("kid")
    matching = [k for k in keys if kid is None or k.key_id == kid]
    if len(matching) != 1:
        raise InvalidAssertion("no single registered key matches the assertion's kid")
    return matching[0]


async def verify(
    client: OAuthClient,
    assertion: str,
    *,
    audiences: list[str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Raises :class:`InvalidAssertion` unless ``assertion`` authenticates ``client``."""
    try:
        key = _key(client, assertion)
        claims: dict[str, Any] = jwt.decode(
            assertion,
            key=key,
            algorithms=ALGORITHMS,
            audience=audiences,
            issuer=client.client_id,
            options={"require": ["iss", "sub", "aud", "exp", "jti"]},
            leeway=_LEEWAY_SECONDS,
        )
    except jwt.PyJWTError as exc:
        raise InvalidAssertion(type(exc).__name__) from exc
    if claims["sub"] != client.client_id:
        raise InvalidAssertion("sub is not the client")
    expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
    if expires - datetime.now(UTC) > MAX_LIFETIME:
        raise InvalidAssertion("lives longer than allowed")
    jti = str(claims["jti"])
    if not jti or len(jti) > 200:
        raise InvalidAssertion("jti missing or too long")
    async with sessions() as session, session.begin():
        first = await insert_if_absent(
            session,
            UsedClientAssertion,
            client_id=client.client_id,
            jti=jti,
            expires_at=expires + timedelta(seconds=_LEEWAY_SECONDS),
        )
    if not first:
        raise InvalidAssertion("jti used before (replay)")
