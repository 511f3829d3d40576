"""The services' JWKS cache: few fetches, key rotation, gateway outages."""

from __future__ import annotations

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from customs_shared.auth import JwksCache
from customs_shared.problems import ServiceUnavailable


def jwk(kid: str) -> dict[str, str]:
    public = Ed25519PrivateKey.generate().public_key()
    return {**jwt.algorithms.OKPAlgorithm.to_jwk(public, as_dict=True), "kid": kid, "alg": "EdDSA"}


class Gateway:
    """The JWKS endpoint, counting fetches; ``up`` and ``keys`` change between calls."""

    def __init__(self, *kids: str) -> None:
        self.keys = [jwk(k) for k in kids]
        self.up = True
        self.fetches = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.fetches += 1
        if not self.up:
            return httpx.Response(503)
        return httpx.Response(200, json={"keys": self.keys})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cache(gateway: Gateway, clock: Clock) -> JwksCache:
    client = httpx.AsyncClient(transport=httpx.MockTransport(gateway.handle))
    return JwksCache("http://gateway/.well-known/jwks.json", client, 300, clock=clock)


async def test_keys_are_fetched_once_per_ttl() -> None:
    gateway, clock = Gateway("a"), Clock()
    keys = cache(gateway, clock)
    assert (await keys.get("a")) is not None
    clock.now += 299
    assert (await keys.get("a")) is not None
    assert gateway.fetches == 1
    clock.now += 2
    await keys.get("a")
    assert gateway.fetches == 2


async def test_unknown_kid_refetches_at_most_every_ten_seconds() -> None:
    gateway, clock = Gateway("a"), Clock()
    keys = cache(gateway, clock)
    await keys.get("a")
    gateway.keys.append(jwk("b"))  # the gateway rotated its key
    clock.now += 11
    assert (await keys.get("b")) is not None
    clock.now += 2
    assert (await keys.get("forged")) is None
    assert (await keys.get("forged-again")) is None
    assert gateway.fetches == 2  # forged kids cannot turn requests into fetches


async def test_gateway_outage_keeps_known_keys_and_backs_off() -> None:
    gateway, clock = Gateway("a"), Clock()
    keys = cache(gateway, clock)
    await keys.get("a")
    gateway.up = False
    clock.now += 301
    for _ in range(5):
        assert (await keys.get("a")) is not None
    assert gateway.fetches == 2
    clock.now += 11
    await keys.get("a")
    assert gateway.fetches == 3


async def test_no_keys_yet_is_unavailable_not_unauthorized() -> None:
    gateway, clock = Gateway("a"), Clock()
    gateway.up = False
    keys = cache(gateway, clock)
    with pytest.raises(ServiceUnavailable):
        await keys.get("a")
    gateway.up = True
    clock.now += 11
    assert (await keys.get("a")) is not None
