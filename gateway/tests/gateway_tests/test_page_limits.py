"""Unrestricted resource consumption (OWASP API4), page sizes: every listing of every
service bounds its page (a ``limit`` between 1 and a few hundred), and a caller asking
for more, for none or for nonsense gets a 422 problem before any query runs (the apps
here have no database: a query would be a 500)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import annotated_types
import httpx
import jwt
import pytest

from customs_shared.auth import Policy
from customs_shared.services import DOMAIN_SERVICES
from gateway.main import create_app
from gateway_tests.services import (
    Endpoint,
    api_routes,
    domain_services,
    route_policies,
    service_app,
)
from gateway_tests.support import Gateway

MAX_PAGE = 500


@dataclass(frozen=True)
class Listing:
    service: str
    path: str
    policy: Policy
    ge: int
    le: int

    def __str__(self) -> str:
        return f"{self.service}:{self.path}"


def _bounds(endpoint: Endpoint) -> tuple[int, int] | None:
    for parameter in endpoint.dependant.query_params:
        if parameter.name == "limit":
            ge = next(
                m.ge for m in parameter.field_info.metadata if isinstance(m, annotated_types.Ge)
            )
            le = next(
                m.le for m in parameter.field_info.metadata if isinstance(m, annotated_types.Le)
            )
            return int(ge), int(le)  # type: ignore[call-overload]
    return None


def _listings() -> list[Listing]:
    apps = {"gateway": create_app()} | {s.name: service_app(s) for s in DOMAIN_SERVICES}
    found = []
    for name, app in apps.items():
        for endpoint in api_routes(app):
            bounds = _bounds(endpoint)
            policies = route_policies(endpoint)
            if "GET" in endpoint.methods and bounds is not None and len(policies) == 1:
                found.append(Listing(name, endpoint.path, policies[0], *bounds))
    return found


LISTINGS = _listings()


def test_every_page_is_bounded() -> None:
    assert len(LISTINGS) >= 15
    assert [str(x) for x in LISTINGS if not (x.ge == 1 and x.le <= MAX_PAGE)] == []


@pytest.fixture(scope="module")
async def clients(gateway: Gateway) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    async with domain_services(gateway) as services:
        yield {"gateway": gateway.client} | {s.spec.name: s.client for s in services}


def _token(gateway: Gateway, policy: Policy) -> str:
    now = int(time.time())
    claims = {
        "iss": gateway.settings.jwt_issuer,
        "aud": gateway.settings.jwt_audience,
        "sub": "pager",
        "tenant": "0312345673",
        "roles": [min(policy.roles).value],
        "scope": policy.scope.value,
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    keys = gateway.state["keys"]
    return jwt.encode(claims, keys.signing_key, algorithm="EdDSA", headers={"kid": keys.kid})


@pytest.mark.parametrize("listing", LISTINGS, ids=str)
async def test_a_page_too_large_empty_or_not_a_number_is_422(
    gateway: Gateway, clients: dict[str, httpx.AsyncClient], listing: Listing
) -> None:
    path = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), listing.path)
    headers = {"Authorization": f"Bearer {_token(gateway, listing.policy)}"}
    for limit in (str(listing.le + 1), "1000000000000", "0", "-1", "ten", "1e3", ""):
        response = await clients[listing.service].get(
            path, params={"limit": limit}, headers=headers
        )
        assert response.status_code == 422, (limit, response.text[:300])
        assert response.headers["content-type"] == "application/problem+json"
