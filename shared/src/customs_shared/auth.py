"""Bearer-token verification, done by every service itself against the gateway's JWKS."""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Protocol, TypedDict, cast

import httpx
import jwt
from fastapi import Depends, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2

from customs_shared.problems import Forbidden, InsufficientScope, ServiceUnavailable, Unauthorized
from customs_shared.revocation import RevocationList

log = logging.getLogger(__name__)

# Unknown-kid refetches are rate-limited so a flood of forged tokens cannot
# turn every request into a JWKS download.
_MIN_REFRESH_INTERVAL_SECONDS = 10.0
_LEEWAY_SECONDS = 5
_VERIFIED_CACHE_SIZE = 10_000


class Role(StrEnum):
    BROKER = "broker"
    DECLARANT = "declarant"
    RIGHT_HOLDER = "right_holder"
    OFFICER = "officer"
    PARTNER_AGENCY = "partner_agency"
    RISK_MANAGER = "risk_manager"
    ADMIN = "admin"


class Scope(StrEnum):
    """What a token may be used for; the gateway grants a client only the scopes
    its registration lists, and each endpoint names the one it needs."""

    DECLARATIONS_READ = "declarations:read"
    DECLARATIONS_WRITE = "declarations:write"
    DECLARATIONS_DECIDE = "declarations:decide"
    SIGNATURES_READ = "signatures:read"
    SIGNATURES_WRITE = "signatures:write"
    IPR_READ = "ipr:read"
    IPR_WRITE = "ipr:write"
    IPR_REVIEW = "ipr:review"
    ROUTING_READ = "routing:read"
    ROUTING_WRITE = "routing:write"
    ROUTING_RULES = "routing:rules"
    PARTNER_EVENTS_WRITE = "partner-events:write"
    ADMIN = "admin"


# Who works on declarations: the trade side only sees its own tenant's, customs staff all.
TRADERS = frozenset({Role.BROKER, Role.DECLARANT})
CUSTOMS_STAFF = frozenset({Role.OFFICER, Role.ADMIN})
# Who works declarations of an office: queues, overrides, inspections.
OFFICERS = frozenset({Role.OFFICER})
TRADERS_AND_CUSTOMS = TRADERS | CUSTOMS_STAFF
# Who asks customs to protect a right: its holder or representative, seeing only its own.
RIGHT_HOLDERS = frozenset({Role.RIGHT_HOLDER})
RIGHT_HOLDERS_AND_CUSTOMS = RIGHT_HOLDERS | CUSTOMS_STAFF
# Who sets reference data every tenant relies on (exchange rates, trust anchors).
ADMINS = frozenset({Role.ADMIN})
# Who writes what routing decides with (rule sets, trader profiles, risk lists, reference
# prices): customs risk management, and admins.
RISK_MANAGERS = frozenset({Role.RISK_MANAGER, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    tenant: str
    roles: frozenset[Role]
    scopes: frozenset[str]
    token_id: str

    def has_any(self, *roles: Role) -> bool:
        return not self.roles.isdisjoint(roles)


class KeySource(Protocol):
    """Where a verifier finds the public key named by a token's ``kid``."""

    async def get(self, kid: str) -> jwt.PyJWK | None: ...


class JwksCache:
    """Caches the gateway's signing keys; refetches on expiry or on an unknown ``kid``.

    While the gateway is unreachable the known keys keep working and fetches are
    retried at most every few seconds, so an outage does not slow every request."""

    def __init__(
        self,
        url: str,
        client: httpx.AsyncClient,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._clock = clock
        self._client = client
        self._ttl = ttl_seconds
        self._keys: dict[str, jwt.PyJWK] = {}
        self._next_refresh = 0.0
        self._last_attempt = -_MIN_REFRESH_INTERVAL_SECONDS
        self._lock = asyncio.Lock()

    async def get(self, kid: str) -> jwt.PyJWK | None:
        now = self._clock()
        unknown = kid not in self._keys
        if now >= self._next_refresh or (
            unknown and now - self._last_attempt >= _MIN_REFRESH_INTERVAL_SECONDS
        ):
            await self.refresh()
        if not self._keys:
            raise ServiceUnavailable("Signing keys are not available yet.")
        return self._keys.get(kid)

    async def refresh(self) -> None:
        async with self._lock:
            now = self._clock()
            if now - self._last_attempt < 1.0:
                return  # a concurrent caller has just fetched
            self._last_attempt = now
            try:
                response = await self._client.get(self._url, timeout=5.0)
                response.raise_for_status()
                jwks = jwt.PyJWKSet.from_dict(response.json())
            except (httpx.HTTPError, jwt.PyJWKSetError, ValueError) as exc:
                log.warning("jwks fetch failed", extra={"error": type(exc).__name__})
                self._next_refresh = now + _MIN_REFRESH_INTERVAL_SECONDS
                return
            self._keys = {k.key_id: k for k in jwks.keys if k.key_id}
            self._next_refresh = now + self._ttl


class TokenVerifier:
    def __init__(
        self,
        jwks: KeySource,
        *,
        issuer: str,
        audience: str,
        algorithms: list[str],
        revocations: RevocationList | None = None,
    ) -> None:
        self._revocations = revocations
        self._jwks = jwks
        self._issuer = issuer
        self._audience = audience
        self._algorithms = algorithms
        # Tokens already verified, for their lifetime: a client sends the same bearer
        # token for minutes, and parsing and checking it again (PyJWT's base64 checks
        # and the signature) was a fifth of a proxied request's CPU.
        self._verified: OrderedDict[str, _Verified] = OrderedDict()

    async def verify(self, token: str) -> Principal:
        known = self._verified.get(token)
        if known is not None and time.time() < known.expires_at:
            # Still signed by a key in force (a key removed since is not trusted) and
            # not revoked since (the revocation list is checked every time).
            if await self._jwks.get(known.kid) is known.key:
                self._revoked(known.claims)
                self._verified.move_to_end(token)
                return known.principal
        self._verified.pop(token, None)
        principal, verified = await self._verify(token)
        self._verified[token] = verified
        if len(self._verified) > _VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        return principal

    def _revoked(self, claims: dict[str, Any]) -> None:
        if self._revocations is not None and self._revocations.is_revoked(claims):
            raise Unauthorized("The bearer token was revoked.")

    async def _verify(self, token: str) -> tuple[Principal, _Verified]:
        if not _canonical_compact_jws(token):
            raise Unauthorized("The bearer token is malformed.")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("The bearer token is malformed.") from exc
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in self._algorithms or not isinstance(kid, str):
            raise Unauthorized("The bearer token's algorithm or key id is not accepted.")
        key = await self._jwks.get(kid)
        if key is None:
            raise Unauthorized("The bearer token was signed by an unknown key.")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=self._algorithms,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "aud", "iss", "jti"]},
                leeway=_LEEWAY_SECONDS,
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("The bearer token has expired.") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("The bearer token is not valid.") from exc
        self._revoked(claims)
        principal = _principal(claims)
        # Trusted until exp plus the same leeway the decode allowed.
        expires_at = float(claims["exp"]) + _LEEWAY_SECONDS
        return principal, _Verified(principal, claims, kid, key, expires_at)


@dataclass(frozen=True, slots=True)
class _Verified:
    principal: Principal
    claims: dict[str, Any]
    kid: str
    key: jwt.PyJWK
    expires_at: float


_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def _canonical_compact_jws(token: str) -> bool:
    """True for the one spelling of a compact JWS: unpadded base64url (RFC 7515 §2)
    whose signature re-encodes to itself. PyJWT also accepts padding and stray low
    bits in the last character, which would give one token several spellings, and a
    token revoked or logged by value must have exactly one."""
    if _COMPACT_JWS.fullmatch(token) is None:
        return False
    signature = token.rsplit(".", 1)[1]
    try:
        raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    except (binascii.Error, ValueError):
        return False
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") == signature


def _principal(claims: dict[str, Any]) -> Principal:
    tenant = claims.get("tenant")
    raw_roles = claims.get("roles")
    if not isinstance(tenant, str) or not tenant or not isinstance(raw_roles, list):
        raise Unauthorized("The bearer token lacks tenant or roles.")
    roles = frozenset(Role(r) for r in raw_roles if r in Role._value2member_map_)
    scope = claims.get("scope", "")
    return Principal(
        subject=str(claims["sub"]),
        tenant=tenant,
        roles=roles,
        scopes=frozenset(scope.split()) if isinstance(scope, str) else frozenset(),
        token_id=str(claims["jti"]),
    )


class AuthState(TypedDict):
    """The part of an app's lifespan state that authentication reads."""

    token_verifier: TokenVerifier


# Declared as OAuth2 client credentials so that OpenAPI lists, per operation, the
# scope it needs; the token itself is the RFC 6750 bearer token the gateway issued.
_oauth2 = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(
            tokenUrl="/oauth/token", scopes={scope.value: scope.name for scope in Scope}
        )
    ),
    scheme_name="gateway",
    auto_error=False,
)


async def current_principal(
    request: Request, authorization: Annotated[str | None, Depends(_oauth2)]
) -> Principal:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("A bearer token is required.")
    state = cast(AuthState, request.scope["state"])
    return await state["token_verifier"].verify(token.strip())


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


@dataclass(frozen=True, slots=True)
class Policy:
    """Who may call an endpoint: one of ``roles``, with a token granted ``scope``."""

    scope: Scope
    roles: frozenset[Role]


# Each dependency ``allow`` made, with its policy: the authorization tests read every
# route's policy from here, so a new route is covered as soon as it declares one.
_POLICIES: dict[Callable[..., Any], Policy] = {}


def policy_of(dependency: Callable[..., Any]) -> Policy | None:
    """The policy of a dependency made by :func:`allow`; None for any other callable."""
    return _POLICIES.get(dependency)


def allow(scope: Scope, roles: frozenset[Role]) -> Any:
    """Dependency that admits callers holding one of ``roles`` whose token carries
    ``scope``: the role says whose data, the scope what the client was granted."""

    # A default, not an Annotated hint: the hint would name this function's locals,
    # which FastAPI cannot resolve from a postponed annotation.
    scoped_principal = Security(current_principal, scopes=[scope.value])

    async def dependency(principal: Principal = scoped_principal) -> Principal:
        if principal.roles.isdisjoint(roles):
            raise Forbidden("Your role may not use this endpoint.")
        if scope.value not in principal.scopes:
            raise InsufficientScope(scope.value)
        return principal

    _POLICIES[dependency] = Policy(scope, roles)
    return Depends(dependency)


def tenant_scope(principal: Principal) -> str | None:
    """The tenant whose data the caller may see; None for customs staff, who work
    across tenants. Every repository read filters by it."""
    return None if principal.has_any(Role.OFFICER, Role.ADMIN) else principal.tenant
