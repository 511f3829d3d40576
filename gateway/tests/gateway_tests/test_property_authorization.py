"""Broken object property level authorization (OWASP API3): a caller cannot set what
the service owns (lane, status, tenant, id, version, the holder, timestamps) by adding
it to a body. Every JSON body of every service refuses members it does not declare (422
problem), the models a trader or holder writes declare none of those, and the real apps
refuse them in the body of a declaration, its amendment and an IPR application."""

from __future__ import annotations

import typing
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from customs_shared.auth import Role
from customs_shared.notifications.schemas import SubscriptionIn
from customs_shared.services import DOMAIN_SERVICES
from declaration_svc.declarations.schemas import DeclarationIn
from gateway.main import create_app
from gateway_tests.services import api_routes, domain_services, role_token, service_app
from gateway_tests.support import Gateway
from ipr_svc.applications.schemas import ApplicationIn
from tests.support.factories import ipr_application
from tests.support.samples import sample

SERVER_OWNED = {
    "id",
    "tenant",
    "status",
    "lane",
    "version",
    "client_id",
    "holder",
    "holder_tenant",
    "submitted_at",
    "created_at",
    "updated_at",
    "decided_by",
    "risk_score",
}


def _models(annotation: Any, found: set[type[BaseModel]]) -> set[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation not in found:
            found.add(annotation)
            for field in annotation.model_fields.values():
                _models(field.annotation, found)
    for argument in typing.get_args(annotation):
        _models(argument, found)
    return found


def _body_models() -> dict[str, set[type[BaseModel]]]:
    apps = {"gateway": create_app()} | {s.name: service_app(s) for s in DOMAIN_SERVICES}
    bodies: dict[str, set[type[BaseModel]]] = {}
    for name, app in apps.items():
        for endpoint in api_routes(app):
            for parameter in endpoint.dependant.body_params:
                key = f"{name} {sorted(endpoint.methods)} {endpoint.path}"
                bodies.setdefault(key, set()).update(
                    _models(parameter.field_info.annotation, set())
                )
    return bodies


def test_every_json_body_refuses_members_it_does_not_declare() -> None:
    bodies = _body_models()
    assert len([models for models in bodies.values() if models]) >= 25
    lax = {
        route: sorted(m.__name__ for m in models if m.model_config.get("extra") != "forbid")
        for route, models in bodies.items()
    }
    assert {route: names for route, names in lax.items() if names} == {}


@pytest.mark.parametrize("model", [DeclarationIn, ApplicationIn, SubscriptionIn])
def test_what_traders_and_holders_write_declares_nothing_the_service_owns(
    model: type[BaseModel],
) -> None:
    for nested in _models(model, set()):
        assert not SERVER_OWNED & set(nested.model_fields), nested.__name__


def _token(gateway: Gateway, role: Role, scope: str) -> str:
    return role_token(gateway, role, scope, subject=f"writer-{role.value}")


@pytest.fixture(scope="module")
async def clients(gateway: Gateway) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    async with domain_services(gateway) as services:
        yield {s.spec.name: s.client for s in services}


INJECTED: list[tuple[str, Any]] = [
    ("lane", "green"),
    ("status", "released"),
    ("tenant", "0318765434"),
    ("id", str(uuid.uuid4())),
    ("version", 7),
    ("client_id", "someone-else"),
    ("submitted_at", "2020-01-01T00:00:00Z"),
]


def _refused_members(response: httpx.Response) -> list[str]:
    """The body members a 422 problem refuses as not declared."""
    return [
        error["loc"][-1]
        for error in response.json()["errors"]
        if error["type"] == "extra_forbidden"
    ]


def test_the_bodies_are_valid_without_the_injected_members() -> None:
    # So a 422 below is for the injected member alone.
    DeclarationIn.model_validate(sample("declaration-enterprise"))
    assert ApplicationIn.model_validate(ipr_application()).owner == "Trung Nguyen Group"


@pytest.mark.parametrize(("member", "value"), INJECTED)
async def test_a_broker_cannot_set_server_owned_members_of_a_declaration(
    gateway: Gateway, clients: dict[str, httpx.AsyncClient], member: str, value: Any
) -> None:
    token = _token(gateway, Role.BROKER, "declarations:write")
    body = sample("declaration-enterprise") | {member: value}
    for method, path in [
        ("POST", "/api/v1/declarations"),
        ("PUT", f"/api/v1/declarations/{uuid.uuid4()}"),
    ]:
        response = await clients["declaration-svc"].request(
            method,
            path,
            json=body,
            headers={
                "Authorization": f"Bearer {token}",
                "Idempotency-Key": str(uuid.uuid4()),
                "If-Match": '"1"',
            },
        )
        assert response.status_code == 422, (method, response.text[:300])
        assert response.headers["content-type"] == "application/problem+json"
        assert _refused_members(response) == [member]


@pytest.mark.parametrize(("member", "value"), [*INJECTED, ("holder", "0318765434")])
async def test_a_holder_cannot_set_server_owned_members_of_an_application(
    gateway: Gateway, clients: dict[str, httpx.AsyncClient], member: str, value: Any
) -> None:
    token = _token(gateway, Role.RIGHT_HOLDER, "ipr:write")
    response = await clients["ipr-svc"].post(
        "/api/v1/ipr/applications",
        json=ipr_application() | {member: value},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422, response.text[:300]
    assert _refused_members(response) == [member]
