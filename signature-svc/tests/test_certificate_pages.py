"""The registered certificates page through every one a caller may see, through the router
on a real PostgreSQL: by tax code, then oldest registration first (ties in key order),
``next_after`` from one page to the next and none on the last. A cursor that is no row of
the same listing (another tenant's, another tax code's under a tax-code filter, or none)
is a 400 problem."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import Role
from signature_svc.certificates.api import router
from signature_svc.certificates.models import RegisteredCertificate
from tests.support.factories import principal
from tests.support.inprocess import Caller, Tokens, client, service_app

pytestmark = pytest.mark.integration

Sessions = async_sessionmaker[AsyncSession]
TENANT_A, TENANT_B = "0100109106", "0312345673"
BRANCH_A = f"{TENANT_A}-001"
ENTERPRISE_A = principal(Role.DECLARANT, TENANT_A, "signatures:read")
OFFICER = principal(Role.OFFICER, "customs-hq", "signatures:read")
START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
async def api(sessions: Sessions) -> AsyncIterator[Caller]:
    tokens = Tokens()
    async with client(service_app([router]), sessions, tokens) as http:
        yield Caller(http, tokens, "/api/v1/signatures")


async def _registered(sessions: Sessions) -> list[tuple[str, str, datetime, str]]:
    """(tenant, tax code, registered at, id) of six certificates, two registered at the
    same instant."""
    wanted = [
        (TENANT_B, TENANT_B, START),
        (TENANT_A, TENANT_A, START + timedelta(minutes=5)),
        (TENANT_A, BRANCH_A, START),
        (TENANT_A, TENANT_A, START),
        (TENANT_A, TENANT_A, START),
        (TENANT_B, TENANT_B, START - timedelta(days=1)),
    ]
    rows = [
        RegisteredCertificate(
            tenant=tenant,
            tax_code=tax_code,
            fingerprint=uuid.uuid4().hex * 2,
            subject=f"CN=Enterprise {tax_code}",
            issuer="CN=Licensed CA",
            serial=uuid.uuid4().hex[:16],
            not_before=START - timedelta(days=30),
            not_after=START + timedelta(days=700),
            certificate_der=b"\x30\x00",
            registered_by="officer-1",
            registered_at=at,
        )
        for tenant, tax_code, at in wanted
    ]
    async with sessions() as session, session.begin():
        session.add_all(rows)
    return [
        (tenant, tax_code, at, str(row.id))
        for (tenant, tax_code, at), row in zip(wanted, rows, strict=True)
    ]


def _in_order(rows: list[tuple[str, str, datetime, str]]) -> list[str]:
    ordered = sorted(rows, key=lambda row: (row[1], row[2], uuid.UUID(row[3]).bytes))
    return [row[3] for row in ordered]


async def test_customs_staff_page_through_every_certificate(
    sessions: Sessions, api: Caller
) -> None:
    expected = _in_order(await _registered(sessions))
    pages, cursors = await api.pages("/certificates", OFFICER, limit=4)
    assert (pages, cursors[-1]) == ([expected[:4], expected[4:]], None)


async def test_an_enterprise_pages_through_its_own_and_one_tax_code_s(
    sessions: Sessions, api: Caller
) -> None:
    registered = await _registered(sessions)
    own = _in_order([row for row in registered if row[0] == TENANT_A])
    pages, _ = await api.pages("/certificates", ENTERPRISE_A, limit=2)
    assert pages == [own[:2], own[2:]]
    head_office = _in_order([row for row in registered if row[1] == TENANT_A])
    pages, _ = await api.pages("/certificates", ENTERPRISE_A, limit=2, tax_code=TENANT_A)
    assert pages == [head_office[:2], head_office[2:]]


async def test_a_cursor_outside_the_listing_is_refused(sessions: Sessions, api: Caller) -> None:
    registered = await _registered(sessions)
    theirs = next(row[3] for row in registered if row[0] == TENANT_B)
    branch = next(row[3] for row in registered if row[1] == BRANCH_A)
    refused = [
        ({"after": theirs}, ENTERPRISE_A),
        ({"after": str(uuid.uuid4())}, ENTERPRISE_A),
        ({"after": branch, "tax_code": TENANT_A}, OFFICER),
    ]
    for params, who in refused:
        response = await api.call("GET", "/certificates", who, params=params)
        assert response.status_code == 400, (params, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"].endswith("/invalid-cursor")
    assert (await api.call("GET", "/certificates", OFFICER, params={"after": branch})).is_success
