"""Each service's OpenAPI states, per operation, the one OAuth2 scope it needs, and
every scope named is one the token endpoint can grant."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI

from customs_shared.auth import Scope
from declaration_svc.main import create_app as declaration_app
from ipr_svc.main import create_app as ipr_app
from routing_svc.main import create_app as routing_app
from signature_svc.main import create_app as signature_app

EXPECTED = {
    ("declaration", "post", "/api/v1/declarations"): "declarations:write",
    ("declaration", "get", "/api/v1/declarations"): "declarations:read",
    ("declaration", "get", "/api/v1/declarations/{declaration_id}"): "declarations:read",
    ("signature", "get", "/api/v1/signatures/checks/{declaration_id}"): "signatures:read",
    ("ipr", "get", "/api/v1/ipr/screenings/{declaration_id}"): "ipr:read",
    ("routing", "get", "/api/v1/routing/decisions/{declaration_id}"): "routing:read",
}
APPS: dict[str, Callable[[], FastAPI]] = {
    "declaration": declaration_app,
    "signature": signature_app,
    "ipr": ipr_app,
    "routing": routing_app,
}


@pytest.mark.parametrize("service", sorted(APPS))
def test_every_operation_names_its_scope(service: str) -> None:
    schema = APPS[service]().openapi()
    flows = schema["components"]["securitySchemes"]["gateway"]["flows"]
    assert set(flows["clientCredentials"]["scopes"]) == {s.value for s in Scope}
    seen = {}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            requirements = operation.get("security")
            assert requirements, f"{method} {path} has no security requirement"
            (scopes,) = (r["gateway"] for r in requirements)
            assert len(scopes) == 1, f"{method} {path}: {scopes}"
            seen[(service, method, path)] = scopes[0]
    assert seen == {k: v for k, v in EXPECTED.items() if k[0] == service}
