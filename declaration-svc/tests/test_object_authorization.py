"""Broken object level authorization (OWASP API1) in declaration-svc, through its real
routers on a real PostgreSQL: every route that names an object (a declaration, its
versions, timeline, documents and receipt, a webhook subscription) answers a trader of
another tenant 404, reading or writing, and leaves the object as it was. The routes are
read from the app, so a new route with an id is in the test without a change here."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import Role
from declaration_svc.declarations.api import router as declarations_router
from declaration_svc.documents.api import router as documents_router
from declaration_svc.rates.api import router as rates_router
from declaration_svc.receipts.api import router as receipts_router
from declaration_svc.settings import DeclarationSettings
from declaration_svc.webhooks.api import router as webhooks_router
from tests.support.factories import principal
from tests.support.inprocess import (
    Caller,
    Tokens,
    answers_as_for_nothing,
    client,
    object_routes,
    service_app,
)
from tests.support.samples import sample

pytestmark = pytest.mark.integration

Sessions = async_sessionmaker[AsyncSession]
SCOPES = ("declarations:read", "declarations:write")
OWNER = principal(Role.BROKER, "0312345673", *SCOPES, subject="broker-a")
# Another enterprise's broker and declarant: same roles, same scopes, another tenant.
STRANGERS = [
    principal(Role.BROKER, "0318765434", *SCOPES, subject="broker-b"),
    principal(Role.DECLARANT, "0318765434", *SCOPES, subject="declarant-b"),
]
# Parameters that name reference data every tenant shares, not a tenant's object.
SHARED = {"currency"}
DER_SIGNATURE = b"\x30\x82\x01\x00" + b"\x01" * 16


@pytest.fixture
async def api(sessions: Sessions) -> AsyncIterator[tuple[Caller, FastAPI]]:
    tokens = Tokens()
    app = service_app(
        [rates_router, webhooks_router, receipts_router, declarations_router, documents_router]
    )
    async with client(app, sessions, tokens, DeclarationSettings()) as http:
        yield Caller(http, tokens, ""), app


async def _owned(api: Caller) -> dict[str, str]:
    """The owner's objects, by the path parameter that names them."""
    submitted = await api.call(
        "POST", "/api/v1/declarations", OWNER, json=sample("declaration-enterprise")
    )
    assert submitted.status_code in {201, 202}, submitted.text
    declaration_id = submitted.json()["id"]
    document = await api.call(
        "POST",
        f"/api/v1/declarations/{declaration_id}/documents",
        OWNER,
        files={
            "file": ("invoice.pdf", b"%PDF-1.7 invoice", "application/pdf"),
            "signature": ("invoice.p7s", DER_SIGNATURE, "application/pkcs7-signature"),
        },
        data={"document_type": "invoice"},
    )
    assert document.status_code == 201, document.text
    subscription = await api.call(
        "POST", "/api/v1/declarations/webhooks", OWNER, json={"url": "http://127.0.0.1:9/hook"}
    )
    assert subscription.status_code == 201, subscription.text
    return {
        "declaration_id": declaration_id,
        "document_id": document.json()["id"],
        "version": "1",
        "subscription_id": subscription.json()["id"],
    }


def _body(method: str, path: str) -> dict[str, Any]:
    if path.endswith("/documents") and method == "POST":
        return {
            "files": {
                "file": ("x.pdf", b"%PDF-1.7 theirs", "application/pdf"),
                "signature": ("x.p7s", DER_SIGNATURE, "application/pkcs7-signature"),
            },
            "data": {"document_type": "invoice"},
        }
    if path.endswith("/cancel"):
        return {"json": {"reason": "not theirs to cancel"}}
    if method == "PUT":
        return {"json": sample("declaration-enterprise")}
    return {}


async def test_every_object_route_answers_another_tenant_404_and_changes_nothing(
    api: tuple[Caller, FastAPI],
) -> None:
    caller, app = api
    owned = await _owned(caller)
    routes = object_routes(app, shared=SHARED)
    assert len(routes) >= 10  # the discovery works
    before = await caller.call("GET", f"/api/v1/declarations/{owned['declaration_id']}", OWNER)
    assert before.status_code == 200
    unknown = {name: str(uuid.uuid4()) for name in owned} | {"version": "1"}
    # An officer-only route, or a declarant declaring for another enterprise, is a 403
    # whatever the id; a read is always the 404 of nothing there.
    wrong = await answers_as_for_nothing(
        caller, routes, STRANGERS, owned=owned, unknown=unknown, body=_body, reads_are_404=True
    )
    assert wrong == [], wrong
    after = await caller.call("GET", f"/api/v1/declarations/{owned['declaration_id']}", OWNER)
    assert after.json() == before.json()
    documents = await caller.call(
        "GET", f"/api/v1/declarations/{owned['declaration_id']}/documents", OWNER
    )
    assert [d["id"] for d in documents.json()] == [owned["document_id"]]
    hooks = await caller.call("GET", "/api/v1/declarations/webhooks", OWNER)
    assert [(h["id"], h["enabled"]) for h in hooks.json()] == [(owned["subscription_id"], True)]
