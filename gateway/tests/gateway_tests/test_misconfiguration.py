"""Security misconfiguration (OWASP API8) of every service's real app and the gateway:
the browser-hardening headers on every answer, HSTS outside the local run, debug off,
the API docs only on the internal listener unless ``public_api_docs`` says otherwise,
and an unexpected failure (here: no database behind the services) answered with a
plain 500 problem that names nothing of the inside."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from customs_shared.auth import Role
from customs_shared.security_headers import SECURITY_HEADERS
from gateway_tests.services import (
    ServiceUnderTest,
    api_routes,
    domain_services,
    role_token,
    route_policies,
)
from gateway_tests.support import Gateway, GatewayFactory, internal_url

SERVICES = ["declaration-svc", "signature-svc", "ipr-svc", "routing-svc"]
DOCS = ["/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"]
# What an error body must never carry: a traceback, a driver, an address or a file.
LEAKS = re.compile(
    r"Traceback|File \"|asyncpg|sqlalchemy|psycopg|127\.0\.0\.1|nobody@|\.py\b|"
    r"ConnectionRefused|OSError|Errno",
    re.IGNORECASE,
)
PROBLEM_MEMBERS = {"type", "title", "status", "detail", "instance", "request_id"}
PRODUCTION = {
    "environment": "production",
    "webhook_secret_key": "w" * 40,
    "cursor_secret": "c" * 40,
    "random_selection_seed": "s" * 40,
}


@pytest.fixture(scope="module")
async def services(gateway: Gateway) -> AsyncIterator[dict[str, ServiceUnderTest]]:
    async with domain_services(gateway) as running:
        yield {s.spec.name: s for s in running}


def _token(gateway: Gateway, role: Role, scope: str) -> str:
    return role_token(gateway, role, scope, subject=f"probe-{role.value}")


def _hardened(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS:
        assert response.headers.get(name.decode()) == value.decode(), (name, response.url)
    assert "access-control-allow-origin" not in response.headers
    assert "strict-transport-security" not in response.headers  # the local run: plain HTTP


@pytest.mark.parametrize("service", SERVICES)
async def test_every_service_answer_carries_the_security_headers(
    services: dict[str, ServiceUnderTest], service: str
) -> None:
    client = services[service].client
    port = services[service].client.base_url.port
    answers = [
        await client.get(f"/api/v1/{services[service].spec.api}"),  # 401 or 404
        await client.get("/api/v1/nothing-here"),  # 404
        await client.get("/docs"),  # 404 on the public port
        await client.get(f"http://{service}.test:{port}/healthz"),  # 404 on the public port
        await client.post(
            f"/api/v1/{services[service].spec.api}",
            content=b"x" * 2_000_000,
            headers={"content-type": "application/json"},
        ),  # 413 (or 401 first)
    ]
    for response in answers:
        _hardened(response)
        assert response.headers["cache-control"] == "no-store"
        assert response.status_code in {401, 404, 405, 413}, response.text


async def test_every_gateway_answer_carries_the_security_headers(gateway: Gateway) -> None:
    for response in [
        await gateway.client.get("/.well-known/jwks.json"),
        await gateway.client.get("/api/v1/declarations"),
        await gateway.client.post("/oauth/token", data={"grant_type": "password"}),
        await gateway.client.get("/nowhere"),
    ]:
        _hardened(response)


async def test_outside_the_local_run_answers_carry_hsts(gateway: Gateway) -> None:
    async with domain_services(gateway, **PRODUCTION) as running:
        for service in running:
            # A 404, and a 503 (no database behind the first GET an officer may make: an
            # outage, answered outside every middleware).
            endpoint = next(
                e
                for e in api_routes(service.app)
                if "GET" in e.methods
                and "{" not in e.path
                and len(policies := route_policies(e)) == 1
                and Role.OFFICER in policies[0].roles
            )
            token = _token(gateway, Role.OFFICER, route_policies(endpoint)[0].scope)
            answers = [
                await service.client.get("/api/v1/nothing-here"),
                await service.client.get(
                    endpoint.path, headers={"Authorization": f"Bearer {token}"}
                ),
            ]
            assert [a.status_code for a in answers] == [404, 503], service.spec.name
            for response in answers:
                assert response.headers["strict-transport-security"] == "max-age=31536000"
                assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("service", SERVICES)
def test_debug_is_off(services: dict[str, ServiceUnderTest], service: str) -> None:
    assert services[service].app.debug is False


@pytest.mark.parametrize("path", DOCS)
@pytest.mark.parametrize("service", SERVICES)
async def test_docs_are_on_the_internal_listener_only_by_default(
    services: dict[str, ServiceUnderTest], service: str, path: str
) -> None:
    running = services[service]
    internal = f"http://{service}.test:{running.spec.internal_port}{path}"
    public = await running.client.get(path)
    assert public.status_code == 404
    assert public.headers["content-type"] == "application/problem+json"
    assert (await running.client.get(internal)).status_code == 200


@pytest.mark.parametrize("path", ["/docs", "/openapi.json"])
async def test_public_api_docs_setting_serves_them_at_the_public_port(
    gateway: Gateway, path: str
) -> None:
    async with domain_services(gateway, public_api_docs=True) as running:
        for service in running:
            assert (await service.client.get(path)).status_code == 200, service.spec.name


async def test_the_gateway_docs_follow_the_setting(
    gateway: Gateway, gateway_factory: GatewayFactory
) -> None:
    assert (await gateway.client.get("/openapi.json")).status_code == 404
    assert (await gateway.client.get(internal_url(gateway, "/openapi.json"))).status_code == 200
    async with gateway_factory(public_api_docs=True) as public:
        assert (await public.client.get("/openapi.json")).status_code == 200


@pytest.mark.parametrize("service", SERVICES)
async def test_an_unexpected_failure_is_a_500_problem_that_names_nothing_inside(
    gateway: Gateway, services: dict[str, ServiceUnderTest], service: str
) -> None:
    # Every GET an admitted caller makes reaches the database, which is not there.
    running = services[service]
    failures = []
    for endpoint in api_routes(running.app):
        policies = route_policies(endpoint)
        if "GET" not in endpoint.methods or len(policies) != 1:
            continue
        policy = policies[0]
        role = min(policy.roles)
        path = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), endpoint.path)
        response = await running.client.get(
            path, headers={"Authorization": f"Bearer {_token(gateway, role, policy.scope)}"}
        )
        if response.status_code >= 500:
            failures.append(response)
    assert failures, f"{service}: no GET reached the (missing) database"
    for response in failures:
        assert response.status_code in {500, 503}, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert not LEAKS.search(response.text), response.text
        assert set(response.json()) <= {
            "type",
            "title",
            "status",
            "detail",
            "instance",
            "request_id",
            "retry_after",  # a 503: the database is missing, an outage
        }
        _hardened(response)
