"""Improper inventory management (OWASP API9): the one API document the gateway serves
lists every operation any service or the gateway serves, and nothing that none serves.
Routes hidden from the documents are only the probes (internal listener) and the
gateway's forwarding routes (the catch-alls, and the public keys forwarded without a
token), whose operations the services' documents list."""

from __future__ import annotations

import re

from customs_shared.health import health_router
from customs_shared.services import DOMAIN_SERVICES
from gateway.main import create_app
from gateway.proxy import API_PREFIX, PUBLIC_PATHS
from gateway_tests.services import Endpoint, api_routes, service_app
from gateway_tests.support import Gateway, internal_url

PROBES = {route.path for route in health_router({}).routes}  # type: ignore[attr-defined]
_PROXY = re.compile(r"/api/v1/[a-z-]+\{rest:rest\}")
_PUBLIC_FORWARDS = {f"{API_PREFIX}/{service}{rest}" for service, rest in PUBLIC_PATHS}
Operation = tuple[str, str]


def _documented_path(path: str) -> str:
    """A route path as OpenAPI spells it: ``{source:path}`` is ``{source}``."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)


def _forwarding(endpoint: Endpoint) -> bool:
    """The gateway's catch-alls and its forwards of public keys (the services' own routes
    of those keys are in their documents)."""
    public = endpoint.path in _PUBLIC_FORWARDS and not endpoint.include_in_schema
    return public or bool(_PROXY.fullmatch(endpoint.path))


def _operations(endpoints: list[Endpoint]) -> set[Operation]:
    return {
        (method.lower(), _documented_path(endpoint.path))
        for endpoint in endpoints
        if endpoint.path not in PROBES and not _forwarding(endpoint)
        for method in endpoint.methods - {"HEAD"}
    }


def _served() -> dict[str, list[Endpoint]]:
    served = {"gateway": api_routes(create_app())}
    served.update({spec.name: api_routes(service_app(spec)) for spec in DOMAIN_SERVICES})
    return served


def test_only_probes_and_forwarding_routes_are_left_out_of_the_documents() -> None:
    hidden = [
        (name, endpoint.path)
        for name, endpoints in _served().items()
        for endpoint in endpoints
        if not endpoint.include_in_schema
        and endpoint.path not in PROBES
        and not _forwarding(endpoint)
    ]
    assert not hidden


def test_every_forwarded_segment_is_a_service_the_document_covers() -> None:
    forwarded = {
        endpoint.path.removeprefix("/api/v1/").removesuffix("{rest:rest}")
        for endpoint in api_routes(create_app())
        if _PROXY.fullmatch(endpoint.path)
    }
    assert forwarded == {spec.api for spec in DOMAIN_SERVICES}


async def test_the_document_lists_exactly_what_is_served(gateway: Gateway) -> None:
    response = await gateway.client.get(internal_url(gateway, "/openapi.json"))
    assert response.status_code == 200
    documented = {
        (method, path)
        for path, operations in response.json()["paths"].items()
        for method in operations
    }
    served = set().union(*(_operations(endpoints) for endpoints in _served().values()))
    assert served - documented == set(), "served but not documented"
    assert documented - served == set(), "documented but not served"
    # Every documented service operation is under a segment the gateway forwards.
    prefixes = tuple(f"/api/v1/{spec.api}" for spec in DOMAIN_SERVICES)
    service_paths = set().union(*(_operations(_served()[s.name]) for s in DOMAIN_SERVICES))
    assert all(path.startswith(prefixes) for _, path in service_paths)
