"""Each service's OpenAPI states, per operation, the one OAuth2 scope it needs, and
every scope named is one the token endpoint can grant."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from customs_shared.auth import Scope
from customs_shared.services import DOMAIN_SERVICES, ServiceSpec
from gateway.proxy import API_PREFIX, PUBLIC_PATHS

# The scopes brokers' software and officers' tools were told each operation needs.
PUBLISHED = {
    ("post", "/api/v1/declarations"): "declarations:write",
    ("get", "/api/v1/declarations"): "declarations:read",
    ("get", "/api/v1/declarations/{declaration_id}"): "declarations:read",
    ("get", "/api/v1/signatures/checks/{declaration_id}"): "signatures:read",
    ("get", "/api/v1/ipr/screenings/{declaration_id}"): "ipr:read",
    ("get", "/api/v1/routing/decisions/{declaration_id}"): "routing:read",
}


# The public keys a service publishes, served to anyone (the gateway forwards them so).
PUBLIC = {("get", f"{API_PREFIX}/{service}{rest}") for service, rest in PUBLIC_PATHS}


def _openapi(spec: ServiceSpec) -> dict[str, Any]:
    schema: dict[str, Any] = importlib.import_module(f"{spec.package}.main").create_app().openapi()
    return schema


@pytest.mark.parametrize("spec", DOMAIN_SERVICES, ids=lambda s: s.name)
def test_every_operation_names_its_scope(spec: ServiceSpec) -> None:
    schema = _openapi(spec)
    flows = schema["components"]["securitySchemes"]["gateway"]["flows"]
    assert set(flows["clientCredentials"]["scopes"]) == {s.value for s in Scope}
    seen: dict[tuple[str, str], str] = {}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            requirements = operation.get("security")
            if (method, path) in PUBLIC:
                assert not requirements, f"{method} {path} is public"
                continue
            assert requirements, f"{method} {path} has no security requirement"
            (scopes,) = (r["gateway"] for r in requirements)
            assert len(scopes) == 1, f"{method} {path}: {scopes}"
            assert scopes[0] in {s.value for s in Scope}
            seen[(method, path)] = scopes[0]
    assert {k: v for k, v in PUBLISHED.items() if k in seen} == {
        k: v for k, v in seen.items() if k in PUBLISHED
    }


def test_the_published_scopes_are_still_served() -> None:
    served = {
        (method, path)
        for spec in DOMAIN_SERVICES
        for path, operations in _openapi(spec)["paths"].items()
        for method in operations
    }
    assert set(PUBLISHED) <= served


def test_every_guarded_operation_documents_its_refusals() -> None:
    # The whole API as the gateway serves it: a caller without a token gets a 401, one
    # whose role or scope does not fit a 403, on every operation that names a scope.
    schema = importlib.import_module("gateway.main").create_app().openapi()
    undocumented = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if operation.get("security") and not {"401", "403"} <= set(operation["responses"])
    ]
    assert undocumented == []
