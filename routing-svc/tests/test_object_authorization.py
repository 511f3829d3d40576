"""Broken object level authorization (OWASP API1) in routing-svc, through its app on a
real PostgreSQL: a declaration's lane decision is its tenant's (and customs'); a trader
of another tenant gets the 404 of a decision that does not exist."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import Role
from tests.support.factories import declaration_submitted
from tests.support.routing_api import CUSTOMS, RoutingApi, routing_api

pytestmark = pytest.mark.integration


@pytest.fixture
async def api(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[RoutingApi]:
    harness = routing_api(sessions)
    async with harness.http:
        yield harness


async def test_a_decision_is_hidden_from_other_tenants_as_if_it_did_not_exist(
    api: RoutingApi,
) -> None:
    facts = declaration_submitted()
    await api.route(facts)
    path = f"/api/v1/routing/decisions/{facts.declaration_id}"
    unknown = f"/api/v1/routing/decisions/{uuid.uuid4()}"

    owner = await api.http.get(path, headers=api.as_role(Role.BROKER, facts.tenant, "routing:read"))
    officer = await api.http.get(path, headers=api.as_role(Role.OFFICER, CUSTOMS, "routing:read"))
    assert (owner.status_code, officer.status_code) == (200, 200)
    assert owner.json()["declaration_id"] == str(facts.declaration_id)
    for role in (Role.BROKER, Role.DECLARANT):
        stranger = api.as_role(role, "0318765434", "routing:read")
        theirs = await api.http.get(path, headers=stranger)
        nothing = await api.http.get(unknown, headers=stranger)
        assert (theirs.status_code, nothing.status_code) == (404, 404)
        assert theirs.json()["type"] == nothing.json()["type"]
