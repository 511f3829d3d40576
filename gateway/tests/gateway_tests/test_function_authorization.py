"""Function-level authorization (OWASP API5): every route of every service, and of the
gateway itself, called by each role its policy does not admit is a 403 problem; called
by an admitted role whose token lacks the route's scope, a 403 ``insufficient-scope``.

The matrix is read from the routes the apps serve and the policies their endpoints
declare (``customs_shared.auth.allow``), so a new route is in it without a change here;
a route that declares no policy fails unless it is one of the few public ones below."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from customs_shared.auth import Policy, Role, Scope
from customs_shared.services import DOMAIN_SERVICES
from gateway.main import create_app
from gateway.proxy import API_PREFIX, PUBLIC_PATHS
from gateway_tests.services import (
    Endpoint,
    api_routes,
    authenticates,
    domain_services,
    role_token,
    route_policies,
    service_app,
)
from gateway_tests.support import Gateway

# Served to anyone: probes (internal listener only), the token endpoint and the public
# keys and metadata a client or a receipt's reader needs.
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("POST", "/oauth/token"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/.well-known/oauth-authorization-server"),
    *(("GET", f"{API_PREFIX}/{service}{rest}") for service, rest in PUBLIC_PATHS),
}
# The gateway's routes to the services: any valid token passes, the service decides.
_PROXY = re.compile(r"/api/v1/[a-z-]+\{rest:rest\}")


def _operations(endpoint: Endpoint) -> list[tuple[str, str]]:
    return [(method, endpoint.path) for method in sorted(endpoint.methods - {"HEAD"})]


def _apps() -> dict[str, list[Endpoint]]:
    apps = {"gateway": api_routes(create_app())}
    apps.update({spec.name: api_routes(service_app(spec)) for spec in DOMAIN_SERVICES})
    return apps


APPS = _apps()


@dataclass(frozen=True)
class Case:
    service: str
    method: str
    path: str
    policy: Policy

    def __str__(self) -> str:
        return f"{self.service}:{self.method}:{self.path}"


def _cases() -> list[Case]:
    cases = []
    for service, endpoints in APPS.items():
        for endpoint in endpoints:
            policies = route_policies(endpoint)
            if len(policies) == 1:
                cases.extend(
                    Case(service, method, path, policies[0])
                    for method, path in _operations(endpoint)
                )
    return cases


CASES = _cases()


@pytest.mark.parametrize("service", APPS)
def test_every_route_declares_one_policy_or_is_public(service: str) -> None:
    undeclared = []
    for endpoint in APPS[service]:
        policies = route_policies(endpoint)
        for operation in _operations(endpoint):
            if operation in PUBLIC:
                assert not policies, operation
                assert not authenticates(endpoint), operation
            elif service == "gateway" and _PROXY.fullmatch(endpoint.path):
                assert authenticates(endpoint), operation
            elif len(policies) != 1:
                undeclared.append((operation, len(policies)))
    assert not undeclared, f"{service}: routes without exactly one policy: {undeclared}"


def test_the_matrix_covers_every_domain_route() -> None:
    # A sanity floor: if route discovery broke, the matrix would pass empty.
    assert len(CASES) > 60
    assert {case.service for case in CASES} == set(APPS)


@pytest.fixture(scope="module")
async def clients(gateway: Gateway) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    async with domain_services(gateway) as services:
        yield {"gateway": gateway.client} | {s.spec.name: s.client for s in services}


def _token(gateway: Gateway, role: Role, scope: str) -> str:
    return role_token(gateway, role, scope, subject=f"matrix-{role.value}")


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


async def _call(client: httpx.AsyncClient, case: Case, token: str) -> httpx.Response:
    kwargs = {"json": {}} if case.method in {"POST", "PUT", "PATCH"} else {}
    return await client.request(
        case.method,
        _concrete(case.path),
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())},
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("case", CASES, ids=str)
async def test_each_role_the_route_does_not_admit_is_403(
    gateway: Gateway, clients: dict[str, httpx.AsyncClient], case: Case
) -> None:
    refused = [role for role in Role if role not in case.policy.roles]
    for role in refused:
        # The route's own scope: the refusal is for the role alone.
        response = await _call(
            clients[case.service], case, _token(gateway, role, case.policy.scope.value)
        )
        assert response.status_code == 403, (role, response.status_code, response.text[:300])
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"].endswith("/forbidden"), response.text


@pytest.mark.parametrize("case", CASES, ids=str)
async def test_an_admitted_role_without_the_scope_is_403_insufficient_scope(
    gateway: Gateway, clients: dict[str, httpx.AsyncClient], case: Case
) -> None:
    other_scopes = " ".join(s.value for s in Scope if s is not case.policy.scope)
    for role in sorted(case.policy.roles):
        response = await _call(clients[case.service], case, _token(gateway, role, other_scopes))
        assert response.status_code == 403, (role, response.status_code, response.text[:300])
        assert response.json()["type"].endswith("/insufficient-scope"), response.text
