"""Which listener serves what: probes, metrics and docs on the internal port; the API
docs at the public edge only when GATEWAY_PUBLIC_API_DOCS says so."""

from __future__ import annotations

import asyncio

import pytest

from gateway_tests.support import Gateway, GatewayFactory, internal_url

INTERNAL_ONLY = ["/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/openapi.json"]


@pytest.mark.parametrize("path", INTERNAL_ONLY)
async def test_internal_paths_are_404_at_the_public_edge(gateway: Gateway, path: str) -> None:
    public = await gateway.client.get(path)
    internal = await gateway.client.get(internal_url(gateway, path))

    assert public.status_code == 404
    assert public.headers["content-type"] == "application/problem+json"
    # This gateway has no Kafka: it is not ready (see the readiness tests), but answers.
    assert internal.status_code == (503 if path == "/readyz" else 200)


async def test_the_api_is_not_served_on_the_internal_port(gateway: Gateway) -> None:
    assert (await gateway.client.get("/.well-known/jwks.json")).status_code == 200
    internal = await gateway.client.get(internal_url(gateway, "/.well-known/jwks.json"))
    assert internal.status_code == 404


async def test_public_api_docs_setting_serves_the_docs_at_the_edge(
    gateway_factory: GatewayFactory,
) -> None:
    async with gateway_factory(public_api_docs=True) as gateway:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert (await gateway.client.get(path)).status_code == 200, path
        assert (await gateway.client.get("/metrics")).status_code == 404


async def test_responses_are_not_cached_unless_the_endpoint_says_so(gateway: Gateway) -> None:
    problem = await gateway.client.get("/api/v1/declarations")
    jwks = await gateway.client.get("/.well-known/jwks.json")

    assert problem.status_code == 401
    assert problem.headers["cache-control"] == "no-store"
    assert jwks.headers["cache-control"] == "public, max-age=300"


@pytest.mark.integration
async def test_ready_only_once_the_revocations_are_read(
    gateway: Gateway, gateway_factory: GatewayFactory, kafka_bootstrap: str
) -> None:
    # Without Kafka the revocation topic cannot be read: a revoked token might pass.
    unread = (await gateway.client.get(internal_url(gateway, "/readyz"))).json()
    assert unread["checks"]["revocations"] != "ok"
    assert unread["checks"]["keys"] == "ok"
    async with gateway_factory(kafka_bootstrap=kafka_bootstrap) as with_kafka:
        for _ in range(100):
            ready = await with_kafka.client.get(internal_url(with_kafka, "/readyz"))
            if ready.status_code == 200:
                break
            await asyncio.sleep(0.1)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["revocations"] == "ok"
