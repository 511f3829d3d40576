"""Applications for customs action on a real PostgreSQL: each holder sees only its own,
customs staff every one, and the validity never runs past the right's term."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import Principal, Role
from customs_shared.db import utcnow
from customs_shared.messaging.models import OutboxEvent
from customs_shared.notifications import service as notifications
from ipr_svc.applications import review, service
from ipr_svc.applications.errors import (
    ApplicationNotFound,
    RenewalTooLate,
    RightExpired,
    WrongStatus,
)
from ipr_svc.applications.models import IprDecision
from ipr_svc.applications.schemas import ApplicationIn
from ipr_svc.screening.models import IprRecord
from tests.support.factories import principal

pytestmark = pytest.mark.integration


def holder(tenant: str) -> Principal:
    return Principal(
        subject=f"holder-{tenant}",
        tenant=tenant,
        roles=frozenset({Role.RIGHT_HOLDER}),
        scopes=frozenset({"ipr:read", "ipr:write"}),
        token_id=tenant,
    )


HOLDER_A = holder("0100109106")
HOLDER_B = holder("0104567890")
OFFICER = principal(Role.OFFICER, "customs", "ipr:read", "ipr:review", subject="officer")
Sessions = async_sessionmaker[AsyncSession]


def application(**changes: Any) -> ApplicationIn:
    body: dict[str, Any] = {
        "right_type": "trademark",
        "registration_number": "4-0123456-000",
        "registration_office": "IP Viet Nam",
        "owner": "Trung Nguyen Group",
        "right_valid_until": (utcnow().date() + timedelta(days=3650)).isoformat(),
        "goods": [
            {
                "hs_headings": ["0901", "2101"],
                "description": "Roasted and instant coffee",
                "brands": ["Trung Nguyên", "G7"],
                "distinguishing_features": "Hologram seal under the lid",
            }
        ],
        "authorised_importers": ["0100109106"],
        "contact": {"name": "IP desk", "email": "ip@example.vn"},
        "notification_url": "https://holder.example.vn/ipr/hooks",
    }
    return ApplicationIn.model_validate({**body, **changes})


async def file(sessions: Sessions, who: Principal, body: ApplicationIn) -> uuid.UUID:
    async with sessions() as session, session.begin():
        return (await service.file(session=session, principal=who, application=body)).id


async def test_a_holder_sees_only_its_own_applications(sessions: Sessions) -> None:
    mine = await file(sessions, HOLDER_A, application())
    theirs = await file(sessions, HOLDER_B, application(registration_number="4-999"))
    async with sessions() as session:
        own = (await service.listing(session=session, principal=HOLDER_A, limit=50)).items
        every = (await service.listing(session=session, principal=OFFICER, limit=50)).items
        assert (await service.get(session=session, principal=HOLDER_A, application_id=mine)).id
        with pytest.raises(ApplicationNotFound):
            await service.get(session=session, principal=HOLDER_A, application_id=theirs)
    assert [a.id for a in own] == [mine]
    assert {a.id for a in every} == {mine, theirs}


async def test_validity_defaults_to_two_years_and_is_capped_by_the_term(
    sessions: Sessions,
) -> None:
    today = utcnow().date()
    term = today + timedelta(days=200)
    default = await file(sessions, HOLDER_A, application())
    capped = await file(sessions, HOLDER_A, application(right_valid_until=term.isoformat()))
    asked = await file(
        sessions,
        HOLDER_A,
        application(
            right_valid_until=term.isoformat(),
            requested_valid_until=(term + timedelta(days=30)).isoformat(),
        ),
    )
    async with sessions() as session:
        rows = {
            i: await service.get(session=session, principal=HOLDER_A, application_id=i)
            for i in (default, capped, asked)
        }
    assert (rows[default].valid_until - today).days in (730, 731)  # two years, a leap day or not
    assert rows[capped].valid_until == term
    assert rows[asked].valid_until == term


async def test_an_ended_right_or_a_bad_tax_code_is_refused(sessions: Sessions) -> None:
    with pytest.raises(RightExpired):
        await file(sessions, HOLDER_A, application(right_valid_until="2020-01-01"))
    with pytest.raises(ValidationError, match="tax code"):
        application(authorised_importers=["123"])


async def test_review_gaps_approve_revoke_each_audited_and_published(
    sessions: Sessions,
) -> None:
    today = utcnow().date()
    term = today + timedelta(days=400)
    filed = await file(
        sessions, HOLDER_A, application(right_valid_until=term.isoformat(), notification_url=None)
    )
    async with sessions() as session:
        row = await service.get(session=session, principal=OFFICER, application_id=filed)
    assert review.gaps(row, ()) == [
        "notification_url: where customs notifies suspensions",
        "contact.phone: a number reachable during a suspension",
    ]
    async with sessions() as session, session.begin():
        record = await review.approve(
            session=session,
            principal=OFFICER,
            application_id=filed,
            valid_from=today,
            valid_until=today + timedelta(days=730),
            reason="complete after the holder's reply",
        )
    assert record.valid_until.date() == term  # capped by the right's term
    assert (record.brands, record.hs_headings) == (["Trung Nguyên", "G7"], ["0901", "2101"])
    async with sessions() as session, session.begin():
        with pytest.raises(WrongStatus):
            await review.reject(
                session=session, principal=OFFICER, application_id=filed, reason="late"
            )
    async with sessions() as session, session.begin():
        await review.revoke(
            session=session, principal=OFFICER, application_id=filed, reason="right cancelled"
        )
    async with sessions() as session:
        decisions = (
            await session.scalars(select(IprDecision).order_by(IprDecision.decided_at))
        ).all()
        events = (await session.scalars(select(OutboxEvent.payload))).all()
    assert [(d.action, d.actor, d.reason) for d in decisions] == [
        ("approve", "officer", "complete after the holder's reply"),
        ("revoke", "officer", "right cancelled"),
    ]
    assert [json.loads(e)["data"]["status"] for e in events] == ["active", "revoked"]
    # The holder is told of each decision; the other holder of none.
    async with sessions() as session:
        told, _ = await notifications.pull(
            session=session, principal=HOLDER_A, after=None, limit=100
        )
        other, _ = await notifications.pull(
            session=session, principal=HOLDER_B, after=None, limit=100
        )
    about = [(n.type, n.data["reason"]) for n in told if n.data["application_id"] == str(filed)]
    assert about == [
        ("ipr.application_approve", "complete after the holder's reply"),
        ("ipr.application_revoke", "right cancelled"),
    ]
    assert all(n.data.get("application_id") != str(filed) for n in other)


async def test_a_holder_cannot_decide_on_another_holders_application(sessions: Sessions) -> None:
    filed = await file(sessions, HOLDER_B, application())
    async with sessions() as session, session.begin():
        with pytest.raises(ApplicationNotFound):
            await review.reject(
                session=session, principal=HOLDER_A, application_id=filed, reason="no"
            )
    async with sessions() as session, session.begin():
        rejected = await review.reject(
            session=session, principal=OFFICER, application_id=filed, reason="not the owner"
        )
    assert rejected.status == "rejected"


async def approved(sessions: Sessions, valid_days: int) -> uuid.UUID:
    filed = await file(sessions, HOLDER_A, application())
    today = utcnow().date()
    async with sessions() as session, session.begin():
        await review.approve(
            session=session,
            principal=OFFICER,
            application_id=filed,
            valid_from=today,
            valid_until=today + timedelta(days=valid_days),
            reason="complete",
        )
    return filed


async def test_renewal_is_filed_at_least_20_days_before_expiry(sessions: Sessions) -> None:
    filed = await approved(sessions, 30)
    today = utcnow().date()
    later = today + timedelta(days=400)
    async with sessions() as session, session.begin():
        with pytest.raises(RenewalTooLate):
            await review.file_renewal(
                session=session,
                principal=HOLDER_A,
                application_id=filed,
                valid_until=later,
                today=today + timedelta(days=11),  # 19 days left
            )
    async with sessions() as session, session.begin():
        await review.file_renewal(
            session=session,
            principal=HOLDER_A,
            application_id=filed,
            valid_until=later,
            today=today + timedelta(days=10),  # 20 days left
        )
    async with sessions() as session, session.begin():
        extended = await review.extend(
            session=session,
            principal=OFFICER,
            application_id=filed,
            valid_until=later,
            reason="renewed",
        )
    assert extended.valid_until == later
    async with sessions() as session:
        record = (await session.scalars(select(IprRecord))).one()
    assert record.valid_until.date() == later


async def test_records_past_their_validity_expire_and_say_so(sessions: Sessions) -> None:
    await approved(sessions, 1)
    async with sessions() as session, session.begin():
        record = (await session.scalars(select(IprRecord))).one()
        record.valid_until = utcnow() - timedelta(seconds=1)
    async with sessions() as session, session.begin():
        assert await review.expire_records(session, None) == 1  # type: ignore[arg-type]
    async with sessions() as session, session.begin():
        assert await review.expire_records(session, None) == 0  # type: ignore[arg-type]
    async with sessions() as session:
        record = (await session.scalars(select(IprRecord))).one()
        events = (await session.scalars(select(OutboxEvent.payload))).all()
    assert record.status == "expired"
    assert [json.loads(e)["data"]["status"] for e in events] == ["active", "expired"]
