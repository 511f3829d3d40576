"""Every IPR listing pages through all the rows its caller may see, through the routers on
a real PostgreSQL: newest first, rows of the same time in key order, ``next_after`` from
one page to the next and none on the last, no row twice and none left out. A cursor that
is no row of the same listing for this caller (another tenant's, or none at all) is a
400 problem, so a cursor tells a holder nothing about anyone else's rows."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import Role
from ipr_svc.applications.api import router as applications_router
from ipr_svc.applications.models import IprApplication
from ipr_svc.records.api import router as records_router
from ipr_svc.screening.api import router as screening_router
from ipr_svc.screening.models import IprHitRow, IprRecord
from ipr_svc.settings import IprSettings
from ipr_svc.suspension.api import router as suspension_router
from ipr_svc.suspension.models import IprSuspension
from tests.support.factories import principal
from tests.support.inprocess import Caller, Tokens, client, service_app

pytestmark = pytest.mark.integration

Sessions = async_sessionmaker[AsyncSession]
HOLDER = principal(Role.RIGHT_HOLDER, "0100109106", "ipr:read", "ipr:write")
OTHER_HOLDER = principal(Role.RIGHT_HOLDER, "0104567890", "ipr:read", "ipr:write")
OFFICER = principal(Role.OFFICER, "customs", "ipr:read", "ipr:review", subject="officer-1")
START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _application(tenant: str, at: datetime) -> IprApplication:
    return IprApplication(
        applicant_tenant=tenant,
        right_type="trademark",
        registration_number=f"4-{uuid.uuid4().hex[:8]}",
        registration_office="IP Viet Nam",
        owner="Trung Nguyen Group",
        right_valid_until=date(2034, 1, 1),
        valid_from=at.date(),
        valid_until=at.date() + timedelta(days=365),
        contact={"name": "Legal department", "email": "ipr@example.vn"},
        filed_at=at,
    )


def _record(tenant: str, at: datetime) -> IprRecord:
    return IprRecord(
        holder_tenant=tenant,
        registration_number=f"4-{uuid.uuid4().hex[:8]}",
        valid_from=at,
        valid_until=at + timedelta(days=365),
        updated_at=at,
    )


def _hit(tenant: str, at: datetime) -> IprHitRow:
    return IprHitRow(
        declaration_id=uuid.uuid4(),
        version=1,
        item_line=1,
        record_id=str(uuid.uuid4()),
        holder_tenant=tenant,
        matched="TRUNG NGUYEN",
        text="Trung Nguyen coffee",
        score=1.0,
        why="exact",
        screened_at=at,
    )


def _suspension(tenant: str, at: datetime) -> IprSuspension:
    return IprSuspension(
        declaration_id=uuid.uuid4(),
        item_line=1,
        record_id=str(uuid.uuid4()),
        holder_tenant=tenant,
        suspended_by="officer-1",
        reason="Suspected counterfeit",
        suspended_on=at.date(),
        deadline=at.date() + timedelta(days=10),
        updated_at=at,
    )


LISTINGS: dict[str, Callable[[str, datetime], Any]] = {
    "/applications": _application,
    "/records": _record,
    "/hits": _hit,
    "/suspensions": _suspension,
}


@pytest.fixture
async def api(sessions: Sessions) -> AsyncIterator[Caller]:
    tokens = Tokens()
    app = service_app([applications_router, records_router, screening_router, suspension_router])
    async with client(app, sessions, tokens, IprSettings()) as http:
        yield Caller(http, tokens, "/api/v1/ipr")


async def _stored(
    sessions: Sessions, make: Callable[[str, datetime], Any]
) -> dict[str, list[tuple[datetime, str]]]:
    """Five rows of the holder's (two pairs at the same instant) and two of another
    holder's in between: each tenant's (time, id) pairs."""
    minutes = {HOLDER.tenant: [0, 0, 1, 2, 2], OTHER_HOLDER.tenant: [1, 3]}
    times = {
        tenant: [START + timedelta(minutes=m) for m in offsets]
        for tenant, offsets in minutes.items()
    }
    rows = {tenant: [make(tenant, at) for at in ats] for tenant, ats in times.items()}
    async with sessions() as session, session.begin():
        session.add_all([row for tenant_rows in rows.values() for row in tenant_rows])
    return {
        tenant: [(at, str(row.id)) for at, row in zip(times[tenant], tenant_rows, strict=True)]
        for tenant, tenant_rows in rows.items()
    }


def _newest_first(pairs: list[tuple[datetime, str]]) -> list[str]:
    """Newest first; ties in the order of their ids (as PostgreSQL orders uuids)."""
    by_id = sorted(pairs, key=lambda pair: uuid.UUID(pair[1]).bytes)
    return [row_id for _, row_id in sorted(by_id, key=lambda pair: pair[0], reverse=True)]


@pytest.mark.parametrize("path", sorted(LISTINGS))
async def test_a_holder_pages_through_its_own_rows_and_no_one_else_s(
    api: Caller, sessions: Sessions, path: str
) -> None:
    stored = await _stored(sessions, LISTINGS[path])
    pages, cursors = await api.pages(path, HOLDER, limit=2)
    expected = _newest_first(stored[HOLDER.tenant])
    assert pages == [expected[0:2], expected[2:4], expected[4:5]]
    assert cursors == [expected[1], expected[3], None]


@pytest.mark.parametrize("path", sorted(LISTINGS))
async def test_customs_staff_page_through_every_holder_s_rows(
    api: Caller, sessions: Sessions, path: str
) -> None:
    stored = await _stored(sessions, LISTINGS[path])
    pages, cursors = await api.pages(path, OFFICER, limit=3)
    expected = _newest_first(stored[HOLDER.tenant] + stored[OTHER_HOLDER.tenant])
    assert pages == [expected[0:3], expected[3:6], expected[6:7]]
    assert cursors[-1] is None
    # A page that ends exactly on the last row says so: no empty page after it.
    exact, _ = await api.pages(path, OFFICER, limit=7)
    assert exact == [expected]


@pytest.mark.parametrize("path", sorted(LISTINGS))
async def test_a_cursor_that_is_no_row_of_the_caller_s_listing_is_refused(
    api: Caller, sessions: Sessions, path: str
) -> None:
    stored = await _stored(sessions, LISTINGS[path])
    theirs = stored[OTHER_HOLDER.tenant][0][1]
    for after in (theirs, str(uuid.uuid4())):
        response = await api.call("GET", path, HOLDER, params={"after": after})
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"].endswith("/invalid-cursor")
    # The same row is a cursor for customs staff, who see it in their listing.
    response = await api.call("GET", path, OFFICER, params={"after": theirs})
    assert response.status_code == 200
    assert theirs not in [item["id"] for item in response.json()["items"]]
