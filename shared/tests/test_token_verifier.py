"""TokenVerifier accepts exactly one spelling of a token."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from customs_shared.auth import TokenVerifier
from customs_shared.problems import Unauthorized

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


class _OneKey:
    def __init__(self, key: Ed25519PrivateKey) -> None:
        public = jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key(), as_dict=True)
        self._jwk = jwt.PyJWK({**public, "kid": "k1"}, algorithm="EdDSA")

    async def get(self, kid: str) -> jwt.PyJWK | None:
        return self._jwk if kid == "k1" else None


def _token(key: Ed25519PrivateKey) -> str:
    now = int(time.time())
    claims = {
        "iss": "gw",
        "aud": "api",
        "sub": "c",
        "tenant": "t",
        "roles": ["broker"],
        "scope": "declarations:read",
        "iat": now,
        "exp": now + 60,
        "jti": "j",
    }
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": "k1"})


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def verifier(key: Ed25519PrivateKey) -> TokenVerifier:
    return TokenVerifier(_OneKey(key), issuer="gw", audience="api", algorithms=["EdDSA"])


async def test_the_issued_spelling_verifies(
    key: Ed25519PrivateKey, verifier: TokenVerifier
) -> None:
    principal = await verifier.verify(_token(key))
    assert principal.scopes == frozenset({"declarations:read"})


@pytest.mark.parametrize("suffix", ["=", "==", "%3D"])
async def test_padding_is_refused(
    key: Ed25519PrivateKey, verifier: TokenVerifier, suffix: str
) -> None:
    with pytest.raises(Unauthorized):
        await verifier.verify(_token(key) + suffix)


async def test_stray_low_bits_in_the_signature_are_refused(
    key: Ed25519PrivateKey, verifier: TokenVerifier
) -> None:
    token = _token(key)
    head, sig = token.rsplit(".", 1)
    # A 64-byte signature leaves 4 unused bits in its last character.
    respelled = sig[:-1] + _ALPHABET[_ALPHABET.index(sig[-1]) ^ 1]
    assert jwt.utils.base64url_decode(respelled) == jwt.utils.base64url_decode(sig)
    with pytest.raises(Unauthorized):
        await verifier.verify(f"{head}.{respelled}")


async def test_whitespace_and_extra_segments_are_refused(
    key: Ed25519PrivateKey, verifier: TokenVerifier
) -> None:
    token = _token(key)
    for variant in (f" {token}", f"{token}\n", f"{token}.", token.replace(".", "..", 1)):
        with pytest.raises(Unauthorized):
            await verifier.verify(variant)
    assert json.loads(jwt.utils.base64url_decode(token.split(".")[0]))["kid"] == "k1"
