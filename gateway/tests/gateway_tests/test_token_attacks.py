"""Forged, altered and misused bearer tokens (OWASP API2, broken authentication), sent
to the gateway and to every domain service's real app: each is a 401 problem, never
served and never a 5xx.

The services verify against the gateway's JWKS fetched over HTTP, as they do when
deployed. The attacks carry a role the service's chosen endpoint refuses: the same
claims correctly signed get 403 there, so a 401 means the token itself was refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from customs_shared.auth import Role
from customs_shared.keys import KeyRing, public_jwk
from gateway_tests.services import ServiceUnderTest, api_routes, domain_services, route_policies
from gateway_tests.support import Gateway

# The order of the Ed25519 group: S and S + L verify the same in a lax implementation.
_ED25519_ORDER = 2**252 + 27742317777372353535851937790883648493
_ROLE = Role.PARTNER_AGENCY  # a role no domain endpoint admits


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json64(value: Any) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


@dataclass
class Forger:
    """Makes tokens with the gateway's real signing key, or without it."""

    ring: KeyRing
    issuer: str
    audience: str
    scope: str

    def claims(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": "attacker",
            "tenant": "0312345673",
            "roles": [_ROLE.value],
            "scope": self.scope,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
        }
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def signed(self, headers: dict[str, Any] | None = None, **changes: Any) -> str:
        return jwt.encode(
            self.claims(**changes),
            self.ring.signing_key,
            algorithm="EdDSA",
            headers={"kid": self.ring.kid, **(headers or {})},
        )

    def raw(self, header: dict[str, Any], signature: bytes, **changes: Any) -> str:
        return f"{_json64(header)}.{_json64(self.claims(**changes))}.{_b64(signature)}"


def _none(forger: Forger, alg: str) -> str:
    header = {"alg": alg, "typ": "JWT", "kid": forger.ring.kid}
    return f"{_json64(header)}.{_json64(forger.claims())}."


def _none_with_signature(forger: Forger, alg: str) -> str:
    return forger.raw({"alg": alg, "kid": forger.ring.kid}, b"\x00" * 64)


def _hmac_with(forger: Forger, secret: bytes) -> str:
    """HS256 keyed with the gateway's public key: verifies where the algorithm is taken
    from the token and the public key is used as an HMAC secret."""
    signing_input = (
        f"{_json64({'alg': 'HS256', 'kid': forger.ring.kid})}.{_json64(forger.claims())}"
    )
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


def _public_bytes(forger: Forger, encoding: serialization.Encoding) -> bytes:
    public = forger.ring.signing_key.public_key()
    if encoding is serialization.Encoding.Raw:
        return public.public_bytes(encoding, serialization.PublicFormat.Raw)
    return public.public_bytes(encoding, serialization.PublicFormat.SubjectPublicKeyInfo)


def _attacker_signed(forger: Forger, headers: dict[str, Any], **changes: Any) -> str:
    """Signed with a key the attacker made, named by ``headers``."""
    key = Ed25519PrivateKey.generate()
    return jwt.encode(forger.claims(**changes), key, algorithm="EdDSA", headers=headers)


def _embedded_jwk(forger: Forger, kid_of: str) -> str:
    key = Ed25519PrivateKey.generate()
    jwk = public_jwk(key.public_key())
    kid = forger.ring.kid if kid_of == "gateway" else jwk["kid"]
    return jwt.encode(forger.claims(), key, algorithm="EdDSA", headers={"kid": kid, "jwk": jwk})


def _other_alg_same_kid(forger: Forger, alg: str) -> str:
    """The kid of the gateway's key, with another algorithm and a key of that kind."""
    key: Any = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if alg.startswith(("RS", "PS"))
        else ec.generate_private_key(ec.SECP256R1())
    )
    return jwt.encode(forger.claims(), key, algorithm=alg, headers={"kid": forger.ring.kid})


def _malleated(forger: Forger) -> str:
    """The same token with S + L in place of S: the signature any lax Ed25519 check
    also accepts (RFC 8032 §5.1.7 requires S < L)."""
    head, payload, signature = forger.signed().split(".")
    raw = jwt.utils.base64url_decode(signature)
    s = int.from_bytes(raw[32:], "little") + _ED25519_ORDER
    return f"{head}.{payload}.{_b64(raw[:32] + s.to_bytes(32, 'little'))}"


def _truncated(forger: Forger, keep: int) -> str:
    head, payload, signature = forger.signed().split(".")
    raw = jwt.utils.base64url_decode(signature)
    return f"{head}.{payload}.{_b64(raw[:keep])}"


def _tampered(forger: Forger, **changes: Any) -> str:
    head, _, signature = forger.signed().split(".")
    return f"{head}.{_json64(forger.claims(**changes))}.{signature}"


def _oversized_header(forger: Forger, signed: bool) -> str:
    padding = {"x": "A" * 65_536}
    if signed:
        # Forged: the gateway never signs such a header, so the key is the attacker's.
        return _attacker_signed(forger, {"kid": forger.ring.kid, **padding})
    return forger.raw({"alg": "EdDSA", "kid": forger.ring.kid, **padding}, b"\x01" * 64)


Attack = Callable[[Forger], str]

ATTACKS: dict[str, Attack] = {
    **{
        f"alg-{alg}": (lambda f, alg=alg: _none(f, alg))  # type: ignore[misc]
        for alg in ("none", "None", "NONE", "nOnE")
    },
    **{
        f"alg-{alg}-with-signature": (lambda f, alg=alg: _none_with_signature(f, alg))  # type: ignore[misc]
        for alg in ("none", "NoNe")
    },
    "hs256-public-key-raw": lambda f: _hmac_with(f, _public_bytes(f, serialization.Encoding.Raw)),
    "hs256-public-key-pem": lambda f: _hmac_with(f, _public_bytes(f, serialization.Encoding.PEM)),
    "hs256-public-key-jwk-x": lambda f: _hmac_with(
        f, public_jwk(f.ring.signing_key.public_key())["x"].encode()
    ),
    "embedded-jwk-own-kid": lambda f: _embedded_jwk(f, "attacker"),
    "embedded-jwk-gateway-kid": lambda f: _embedded_jwk(f, "gateway"),
    "jku-own-kid": lambda f: _attacker_signed(
        f, {"kid": "attacker", "jku": "http://127.0.0.1:9/jwks.json"}
    ),
    "jku-gateway-kid": lambda f: _attacker_signed(
        f, {"kid": f.ring.kid, "jku": "http://127.0.0.1:9/jwks.json"}
    ),
    "x5u-gateway-kid": lambda f: _attacker_signed(
        f, {"kid": f.ring.kid, "x5u": "http://127.0.0.1:9/cert.pem"}
    ),
    "kid-path-traversal": lambda f: _attacker_signed(f, {"kid": "../../../../../../dev/null"}),
    "kid-sql": lambda f: _attacker_signed(f, {"kid": "x' UNION SELECT 'key' --"}),
    "kid-empty": lambda f: _attacker_signed(f, {"kid": ""}),
    "kid-not-a-string": lambda f: f.raw({"alg": "EdDSA", "kid": 1}, bytes(64)),
    "kid-missing": lambda f: jwt.encode(f.claims(), Ed25519PrivateKey.generate(), "EdDSA"),
    "kid-gateway-other-key": lambda f: _attacker_signed(f, {"kid": f.ring.kid}),
    "kid-gateway-rs256": lambda f: _other_alg_same_kid(f, "RS256"),
    "kid-gateway-ps256": lambda f: _other_alg_same_kid(f, "PS256"),
    "kid-gateway-es256": lambda f: _other_alg_same_kid(f, "ES256"),
    "wrong-audience": lambda f: f.signed(aud="another-api"),
    "audience-list-without-ours": lambda f: f.signed(aud=["another-api", "x"]),
    "wrong-issuer": lambda f: f.signed(iss="https://attacker.example"),
    "expired": lambda f: f.signed(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600),
    "not-yet-valid": lambda f: f.signed(nbf=int(time.time()) + 3600),
    "issued-in-the-future": lambda f: f.signed(
        iat=int(time.time()) + 3600, exp=int(time.time()) + 7200
    ),
    "no-expiry": lambda f: f.signed(exp=None),
    "no-jti": lambda f: f.signed(jti=None),
    "exp-not-a-number": lambda f: f.signed(exp="tomorrow"),
    "no-tenant": lambda f: f.signed(tenant=None),
    "roles-not-a-list": lambda f: f.signed(roles="admin"),
    "tampered-roles": lambda f: _tampered(f, roles=[Role.ADMIN.value]),
    "tampered-tenant": lambda f: _tampered(f, tenant="another-tenant"),
    "malleated-signature-s-plus-l": _malleated,
    "truncated-signature-63": lambda f: _truncated(f, 63),
    "truncated-signature-32": lambda f: _truncated(f, 32),
    "signature-removed": lambda f: f.signed().rsplit(".", 1)[0] + ".",
    "two-segments": lambda f: f.signed().rsplit(".", 1)[0],
    "oversized-header-unsigned": lambda f: _oversized_header(f, signed=False),
    "oversized-header-signed": lambda f: _oversized_header(f, signed=True),
    "header-not-json": lambda f: f"{_b64(b'{alg')}.{_json64(f.claims())}.{_b64(bytes(64))}",
    "header-a-list": lambda f: f"{_json64(['EdDSA'])}.{_json64(f.claims())}.{_b64(bytes(64))}",
    "payload-not-json": lambda f: (
        f"{_json64({'alg': 'EdDSA', 'kid': f.ring.kid})}.{_b64(b'[[[')}.{_b64(bytes(64))}"
    ),
}


@dataclass
class Target:
    name: str
    client: httpx.AsyncClient
    path: str
    # What the correctly signed attack claims get: proof they pass authentication.
    genuine_status: int


@pytest.fixture(scope="module")
async def targets(gateway: Gateway) -> AsyncIterator[dict[str, Target]]:
    async with domain_services(gateway) as services:
        found = {"gateway": Target("gateway", gateway.client, "/api/v1/declarations", 200)}
        for service in services:
            found[service.spec.name] = _refusing_target(service)
        yield found


def _refusing_target(service: ServiceUnderTest) -> Target:
    """A GET endpoint without path parameters whose policy refuses ``_ROLE``."""
    for route in api_routes(service.app):
        policies = route_policies(route)
        if (
            "GET" in route.methods
            and "{" not in route.path
            and policies
            and all(_ROLE not in policy.roles for policy in policies)
        ):
            return Target(service.spec.name, service.client, route.path, 403)
    raise LookupError(f"{service.spec.name}: no GET endpoint to aim at")


TARGETS = ["gateway", "declaration-svc", "signature-svc", "ipr-svc", "routing-svc"]


@pytest.fixture
def forger(gateway: Gateway) -> Forger:
    return Forger(
        gateway.state["keys"],
        gateway.settings.jwt_issuer,
        gateway.settings.jwt_audience,
        # Every scope: the attack fails on the token, not on a missing scope.
        " ".join(["declarations:read", "signatures:read", "ipr:read", "routing:read", "admin"]),
    )


@pytest.mark.parametrize("target", TARGETS)
async def test_the_genuine_token_passes_authentication(
    targets: dict[str, Target], forger: Forger, target: str
) -> None:
    aimed = targets[target]
    response = await aimed.client.get(
        aimed.path, headers={"Authorization": f"Bearer {forger.signed()}"}
    )
    assert response.status_code == aimed.genuine_status, response.text


@pytest.mark.parametrize("attack", ATTACKS)
@pytest.mark.parametrize("target", TARGETS)
async def test_every_token_attack_is_a_401_problem(
    targets: dict[str, Target], forger: Forger, target: str, attack: str
) -> None:
    aimed = targets[target]
    token = ATTACKS[attack](forger)
    response = await aimed.client.get(aimed.path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, (attack, response.status_code, response.text[:300])
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "bearer\tx.y.z", "Token abc", "Bearer a.b.c d"],
)
@pytest.mark.parametrize("target", TARGETS)
async def test_an_authorization_header_that_is_not_a_bearer_token_is_401(
    targets: dict[str, Target], target: str, authorization: str
) -> None:
    aimed = targets[target]
    response = await aimed.client.get(aimed.path, headers={"Authorization": authorization})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
