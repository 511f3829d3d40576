from __future__ import annotations

import importlib
from typing import Any

import pytest

from customs_shared.services import DOMAIN_SERVICES
from gateway.api_document import (
    DocumentConflict,
    build_services_document,
    merge,
    services_document,
)
from gateway_tests.support import Gateway, internal_url


def _operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method, path) for path, operations in document["paths"].items() for method in operations
    }


def test_the_generated_services_document_is_current() -> None:
    # Regenerate with: uv run python -m gateway.api_document
    assert services_document() == build_services_document()


async def test_the_gateway_serves_every_operation_of_every_service(gateway: Gateway) -> None:
    response = await gateway.client.get(internal_url(gateway, "/openapi.json"))

    assert response.status_code == 200
    served = response.json()
    assert served["openapi"].startswith("3.1")
    for spec in DOMAIN_SERVICES:
        own = importlib.import_module(f"{spec.package}.main").create_app().openapi()
        missing = _operations(own) - _operations(served)
        assert not missing, f"{spec.name}: {sorted(missing)}"
    assert {("post", "/oauth/token"), ("post", "/api/v1/partner-events")} <= _operations(served)
    components = served["components"]
    assert "clientCredentials" in components["securitySchemes"]["gateway"]["flows"]
    assert {"Problem", "PartnerEventResult"} <= components["schemas"].keys()
    docs = await gateway.client.get(internal_url(gateway, "/docs"))
    assert docs.status_code == 200


def test_merge_refuses_one_operation_defined_two_ways() -> None:
    one = {"paths": {"/a": {"get": {"summary": "one"}}}}
    two = {"paths": {"/a": {"get": {"summary": "two"}, "post": {}}}}

    with pytest.raises(DocumentConflict):
        merge(one, [two])
    assert _operations(merge(one, [{"paths": {"/a": {"post": {}}}}])) == {
        ("get", "/a"),
        ("post", "/a"),
    }
