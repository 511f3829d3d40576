"""Broken object level authorization (OWASP API1) in ipr-svc, through its real routers
on a real PostgreSQL: every route that names an object (an application, its gaps,
decisions and attachments, a suspension, a webhook subscription) answers another right
holder as it answers for an object that does not exist (404, or the 403 of a role check
that does not depend on the object), and leaves the holder's objects as they were. The
routes are read from the app, so a new route with an id is covered without a change."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import Role
from customs_shared.db import utcnow
from ipr_svc.applications.api import router as applications_router
from ipr_svc.attachments.api import router as attachments_router
from ipr_svc.holders.api import router as holders_router
from ipr_svc.records.api import router as records_router
from ipr_svc.screening.api import router as screening_router
from ipr_svc.settings import IprSettings
from ipr_svc.suspension.api import router as suspensions_router
from tests.support.factories import ipr_application, principal
from tests.support.inprocess import (
    Caller,
    Tokens,
    answers_as_for_nothing,
    client,
    object_routes,
    service_app,
)

pytestmark = pytest.mark.integration

Sessions = async_sessionmaker[AsyncSession]
SCOPES = ("ipr:read", "ipr:write")
HOLDER = principal(Role.RIGHT_HOLDER, "0100109106", *SCOPES, subject="holder-a")
# Another holder, and a trader: neither may see or touch the holder's objects.
STRANGERS = [
    principal(Role.RIGHT_HOLDER, "0104567890", *SCOPES, subject="holder-b"),
    principal(Role.BROKER, "0312345673", *SCOPES, subject="broker"),
]
SIGNATURE = b"\x30\x82\x01\x00" + b"\x01" * 16


@pytest.fixture
async def api(sessions: Sessions) -> AsyncIterator[tuple[Caller, FastAPI]]:
    tokens = Tokens()
    app = service_app(
        [
            screening_router,
            records_router,
            applications_router,
            attachments_router,
            suspensions_router,
            holders_router,
        ]
    )
    async with client(app, sessions, tokens, IprSettings()) as http:
        yield Caller(http, tokens, ""), app


def _attachment() -> dict[str, Any]:
    return {
        "files": {
            "file": ("certificate.pdf", b"%PDF-1.7 certificate", "application/pdf"),
            "signature": ("certificate.p7s", SIGNATURE, "application/pkcs7-signature"),
        },
        "data": {"attachment_type": "registration-certificate"},
    }


async def _owned(api: Caller) -> dict[str, str]:
    filed = await api.call(
        "POST",
        "/api/v1/ipr/applications",
        HOLDER,
        json=ipr_application(notification_url="https://holder.example.vn/ipr/hooks"),
    )
    assert filed.status_code == 201, filed.text
    application_id = filed.json()["id"]
    attached = await api.call(
        "POST", f"/api/v1/ipr/applications/{application_id}/attachments", HOLDER, **_attachment()
    )
    assert attached.status_code == 201, attached.text
    subscription = await api.call(
        "POST", "/api/v1/ipr/webhooks", HOLDER, json={"url": "http://127.0.0.1:9/hook"}
    )
    assert subscription.status_code == 201, subscription.text
    return {
        "application_id": application_id,
        "attachment_id": attached.json()["id"],
        "subscription_id": subscription.json()["id"],
        # No suspension or screening of the holder's here: those routes compare two
        # unknown ids, which still shows their answers do not depend on the caller.
        "suspension_id": str(uuid.uuid4()),
        "declaration_id": str(uuid.uuid4()),
    }


def _body(method: str, path: str) -> dict[str, Any]:
    later = (utcnow().date() + timedelta(days=400)).isoformat()
    if method != "POST":
        return {}
    if path.endswith("/attachments"):
        return _attachment()
    if path.endswith("/renewal"):
        return {"json": {"valid_until": later}}
    if path.endswith("/approve"):
        today = utcnow().date().isoformat()
        return {"json": {"valid_from": today, "valid_until": later, "reason": "ok"}}
    if path.endswith("/extend"):
        return {"json": {"valid_until": later, "reason": "more time"}}
    return {"json": {"reason": "not theirs"}}


async def test_every_object_route_answers_another_holder_as_for_nothing(
    api: tuple[Caller, FastAPI],
) -> None:
    caller, app = api
    owned = await _owned(caller)
    routes = object_routes(app)
    assert len(routes) >= 15  # the discovery works
    application_url = f"/api/v1/ipr/applications/{owned['application_id']}"
    before = await caller.call("GET", application_url, HOLDER)
    assert before.status_code == 200
    unknown = {name: str(uuid.uuid4()) for name in owned}
    wrong = await answers_as_for_nothing(
        caller, routes, STRANGERS, owned=owned, unknown=unknown, body=_body, reads_are_404=False
    )
    assert wrong == [], wrong
    after = await caller.call("GET", application_url, HOLDER)
    assert after.json() == before.json()
    attachments = await caller.call("GET", f"{application_url}/attachments", HOLDER)
    assert [a["id"] for a in attachments.json()["items"]] == [owned["attachment_id"]]
    hooks = await caller.call("GET", "/api/v1/ipr/webhooks", HOLDER)
    assert [(h["id"], h["enabled"]) for h in hooks.json()] == [(owned["subscription_id"], True)]
