"""Broken object level authorization (OWASP API1) in signature-svc, through its router on
a real PostgreSQL: a declaration's signature check is its tenant's (and customs'); a trader
of another tenant gets the 404 of a check that does not exist."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import Role
from signature_svc.checks import service
from signature_svc.checks.api import router
from signature_svc.verification.trust import TrustMaterial
from signature_svc.verification.verifier import Verifier
from tests.support.factories import declaration_submitted, principal
from tests.support.inprocess import Caller, Tokens, client, service_app

pytestmark = pytest.mark.integration

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def api(sessions: Sessions) -> AsyncIterator[Caller]:
    tokens = Tokens()
    async with client(service_app([router]), sessions, tokens) as http:
        yield Caller(http, tokens, "/api/v1/signatures")


async def test_a_check_is_hidden_from_other_tenants_as_if_it_did_not_exist(
    sessions: Sessions, api: Caller
) -> None:
    submitted = declaration_submitted(signature_present=False)
    async with sessions() as session, session.begin():
        await service.check_declaration(
            session, submitted, verifier=Verifier(TrustMaterial.build([]))
        )
    owner = principal(Role.BROKER, submitted.tenant, "signatures:read")
    officer = principal(Role.OFFICER, "customs-hq", "signatures:read")
    strangers = [
        principal(Role.BROKER, "0318765434", "signatures:read"),
        principal(Role.DECLARANT, "0318765434", "signatures:read"),
    ]
    path = f"/checks/{submitted.declaration_id}"
    unknown = f"/checks/{uuid.uuid4()}"

    assert (await api.call("GET", path, owner)).json()["status"] == "missing"
    assert (await api.call("GET", path, officer)).status_code == 200
    for stranger in strangers:
        theirs = await api.call("GET", path, stranger)
        nothing = await api.call("GET", unknown, stranger)
        assert (theirs.status_code, nothing.status_code) == (404, 404)
        assert theirs.json()["type"] == nothing.json()["type"]
