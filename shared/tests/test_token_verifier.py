"""TokenVerifier accepts exactly one spelling of a token."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from customs_shared import auth
from customs_shared.auth import TokenVerifier
from customs_shared.problems import Unauthorized
from customs_shared.revocation import Revocation, RevocationKind, RevocationList

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


class _OneKey:
    def __init__(self, key: Ed25519PrivateKey) -> None:
        public = jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key(), as_dict=True)
        self._jwk = jwt.PyJWK({**public, "kid": "k1"}, algorithm="EdDSA")

    async def get(self, kid: str) -> jwt.PyJWK | None:
        return self._jwk if kid == "k1" else None


def _count_decodes(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """How many times PyJWT decodes a token from now on: a verification the cache saved
    decodes nothing."""
    calls = 0
    original = jwt.decode

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    return lambda: calls


def _token(key: Ed25519PrivateKey, *, lifetime: int = 60, jti: str = "j") -> str:
    now = int(time.time())
    claims = {
        "iss": "gw",
        "aud": "api",
        "sub": "c",
        "tenant": "t",
        "roles": ["broker"],
        "scope": "declarations:read",
        "iat": now,
        "exp": now + lifetime,
        "jti": jti,
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


class _Keys:
    """A key source whose keys a test can remove, counting lookups."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        public = jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key(), as_dict=True)
        self.keys = {"k1": jwt.PyJWK({**public, "kid": "k1"}, algorithm="EdDSA")}

    async def get(self, kid: str) -> jwt.PyJWK | None:
        return self.keys.get(kid)


async def test_a_verified_token_is_not_verified_again_but_revocation_still_counts(
    key: Ed25519PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    revocations = RevocationList()
    verifier = TokenVerifier(
        _Keys(key), issuer="gw", audience="api", algorithms=["EdDSA"], revocations=revocations
    )
    token = _token(key)
    first = await verifier.verify(token)
    decodes = _count_decodes(monkeypatch)
    assert await verifier.verify(token) == first
    assert decodes() == 0  # served from what was verified
    revocations.add(Revocation(kind=RevocationKind.TOKEN, value="j", revoked_at=datetime.now(UTC)))
    with pytest.raises(Unauthorized, match="revoked"):
        await verifier.verify(token)


async def test_a_cached_token_of_a_removed_key_is_refused_and_one_past_exp_is_checked_again(
    key: Ed25519PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = _Keys(key)
    verifier = TokenVerifier(keys, issuer="gw", audience="api", algorithms=["EdDSA"])
    token = _token(key)
    await verifier.verify(token)
    removed = keys.keys.pop("k1")
    with pytest.raises(Unauthorized, match="unknown key"):
        await verifier.verify(token)
    keys.keys["k1"] = removed
    await verifier.verify(token)
    # Past its exp (and the leeway) the token is not served from the cache: it is
    # decoded again, where PyJWT's own clock decides (an expired token gets 401 there).
    decodes = _count_decodes(monkeypatch)
    await verifier.verify(token)
    assert decodes() == 0
    later = time.time() + 3600
    monkeypatch.setattr(time, "time", lambda: later)
    await verifier.verify(token)
    assert decodes() == 1


async def test_a_cached_token_is_refused_once_it_has_expired(
    key: Ed25519PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache never outlives the token: past exp (and the leeway) the same token that
    was served from the cache a moment ago is a 401, on the real clock."""
    monkeypatch.setattr(auth, "_LEEWAY_SECONDS", 0)  # the clock, not 5 s of grace
    verifier = TokenVerifier(_Keys(key), issuer="gw", audience="api", algorithms=["EdDSA"])
    token = _token(key, lifetime=1)
    await verifier.verify(token)
    await verifier.verify(token)  # from the cache
    await asyncio.sleep(2.1)
    with pytest.raises(Unauthorized, match="expired"):
        await verifier.verify(token)


async def test_the_cache_of_verified_tokens_is_bounded(
    key: Ed25519PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth, "_VERIFIED_CACHE_SIZE", 3)
    verifier = TokenVerifier(_Keys(key), issuer="gw", audience="api", algorithms=["EdDSA"])
    tokens = [_token(key, jti=f"j{n}") for n in range(5)]
    for token in tokens:
        await verifier.verify(token)
    decodes = _count_decodes(monkeypatch)
    for token in tokens[2:]:  # the three most recent: from the cache
        await verifier.verify(token)
    assert decodes() == 0
    await verifier.verify(tokens[0])  # evicted: verified again
    assert decodes() == 1
