"""Customs exchange rates on a real PostgreSQL: loading, the rate in force on a date,
conversion of a declaration to VND (an amendment at the declaration's date), and the 422
when no rate applies."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import Role
from customs_shared.messaging.models import OutboxEvent
from declaration_svc.declarations import amendments, service
from declaration_svc.declarations.models import Declaration
from declaration_svc.declarations.schemas import DeclarationIn
from declaration_svc.rates import service as rates
from declaration_svc.rates.errors import ExchangeRateMissing, ExchangeRateNotFound
from declaration_svc.rates.schemas import RatesIn
from tests.support.factories import principal
from tests.support.samples import sample

pytestmark = pytest.mark.integration

BROKER = principal(Role.BROKER, "0312345673", "declarations:write", subject="demo-broker")
ADMIN = principal(Role.ADMIN, "customs-hq", "admin", subject="demo-admin")


def usd_declaration() -> DeclarationIn:
    body = sample("declaration-enterprise")
    body["currency"] = "USD"
    body["items"][0]["customs_value"] = "48000.50"
    body["items"][1]["customs_value"] = "42000"
    body["invoice"]["total"] = "90000.50"
    return DeclarationIn.model_validate(body)


async def load(sessions: async_sessionmaker[AsyncSession], rates_json: list[object]) -> int:
    async with sessions() as session, session.begin():
        body = RatesIn.model_validate({"rates": rates_json})
        return await rates.load(session=session, principal=ADMIN, body=body)


async def test_the_rate_in_force_is_the_latest_one_started_by_that_date(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    loaded = await load(
        sessions,
        [
            {"currency": "USD", "valid_from": "2026-11-01", "vnd_per_unit": "25300"},
            {"currency": "USD", "valid_from": "2026-11-15", "vnd_per_unit": "25400"},
            {"currency": "EUR", "valid_from": "2026-11-01", "vnd_per_unit": "27100.5"},
        ],
    )
    assert loaded == 3
    async with sessions() as session:
        on_10th = await rates.in_force(session=session, currency="USD", on=date(2026, 11, 10))
        on_15th = await rates.in_force(session=session, currency="USD", on=date(2026, 11, 15))
        with pytest.raises(ExchangeRateNotFound):
            await rates.in_force(session=session, currency="USD", on=date(2026, 10, 31))
    assert on_10th.vnd_per_unit == 25_300
    assert on_15th.vnd_per_unit == 25_400
    assert on_15th.loaded_by == "demo-admin"


async def test_loading_a_rate_again_replaces_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await load(sessions, [{"currency": "JPY", "valid_from": "2026-01-01", "vnd_per_unit": "170"}])
    await load(sessions, [{"currency": "JPY", "valid_from": "2026-01-01", "vnd_per_unit": "171"}])
    async with sessions() as session:
        rate = await rates.in_force(session=session, currency="JPY", on=date(2026, 6, 1))
    assert rate.vnd_per_unit == 171


async def test_a_usd_declaration_is_stored_and_published_with_its_vnd_values(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await load(sessions, [{"currency": "USD", "valid_from": "2000-01-01", "vnd_per_unit": "25400"}])
    async with sessions() as session, session.begin():
        submission = await service.submit(
            session=session, principal=BROKER, body=usd_declaration(), idempotency_key=None
        )
    async with sessions() as session:
        stored = await session.get(Declaration, submission.declaration_id)
        payload = await session.scalar(select(OutboxEvent.payload))
    assert stored is not None
    assert stored.total_customs_value == Decimal("90000.50")
    assert stored.exchange_rate == 25_400
    assert stored.total_customs_value_vnd == 2_286_012_700
    assert payload is not None
    data = json.loads(payload)["data"]
    assert Decimal(data["total_customs_value"]) == Decimal("90000.50")
    assert data["currency"] == "USD"
    assert Decimal(data["total_customs_value_vnd"]) == 2_286_012_700
    assert Decimal(data["exchange_rate"]) == 25_400
    assert [Decimal(i["customs_value_vnd"]) for i in data["items"]] == [
        1_219_212_700,
        1_066_800_000,
    ]


async def test_no_rate_for_the_currency_and_date_is_a_clear_422(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    body = usd_declaration().model_copy(update={"currency": "CHF"})
    async with sessions() as session, session.begin():
        with pytest.raises(ExchangeRateMissing) as raised:
            await service.submit(session=session, principal=BROKER, body=body, idempotency_key=None)
    assert raised.value.status == 422
    assert "CHF" in str(raised.value.detail)
    today_in_vietnam = rates.declaration_date(datetime.now(UTC)).isoformat()
    assert today_in_vietnam in str(raised.value.detail)


async def test_vnd_needs_no_rate(sessions: async_sessionmaker[AsyncSession]) -> None:
    body = DeclarationIn.model_validate(sample("declaration-enterprise"))
    async with sessions() as session, session.begin():
        submission = await service.submit(
            session=session, principal=BROKER, body=body, idempotency_key=None
        )
    async with sessions() as session:
        stored = await session.get(Declaration, submission.declaration_id)
    assert stored is not None
    assert stored.exchange_rate == 1
    assert stored.total_customs_value_vnd == 231_000_000


def test_conversion_rounds_to_the_dong_half_up() -> None:
    conversion = rates.Conversion("USD", Decimal("25400.5"))
    assert conversion.to_vnd(Decimal("0.01")) == 254  # 254.005
    assert conversion.to_vnd(Decimal("0.03")) == 762  # 762.015
    assert rates.declaration_date(datetime(2026, 11, 26, 17, 30, tzinfo=UTC)) == date(2026, 11, 27)


async def test_an_amendment_converts_at_the_rate_of_the_declaration_date(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A new version keeps the declaration's date: a rate loaded since then, and in force
    on the day of the amendment, does not apply to it (a new declaration takes it)."""
    await load(sessions, [{"currency": "USD", "valid_from": "2000-01-01", "vnd_per_unit": "25400"}])
    async with sessions() as session, session.begin():
        submitted = await service.submit(
            session=session, principal=BROKER, body=usd_declaration(), idempotency_key=None
        )
    registered = datetime.now(UTC) - timedelta(days=5)
    async with sessions() as session, session.begin():
        await session.execute(
            update(Declaration)
            .where(Declaration.id == submitted.declaration_id)
            .values(created_at=registered)
        )
    since = rates.declaration_date(datetime.now(UTC)) - timedelta(days=2)
    assert since > rates.declaration_date(registered)
    await load(
        sessions, [{"currency": "USD", "valid_from": since.isoformat(), "vnd_per_unit": "26000"}]
    )
    async with sessions() as session, session.begin():
        await amendments.amend(
            session=session,
            principal=BROKER,
            declaration_id=submitted.declaration_id,
            body=usd_declaration(),
            if_match='"v1"',
        )
        fresh = await service.submit(
            session=session, principal=BROKER, body=usd_declaration(), idempotency_key=None
        )
    async with sessions() as session:
        stored = await session.get(Declaration, submitted.declaration_id)
        other = await session.get(Declaration, fresh.declaration_id)
        payloads = await session.scalars(
            select(OutboxEvent.payload).where(OutboxEvent.key == str(submitted.declaration_id))
        )
        events = [json.loads(payload) for payload in payloads]
    assert stored is not None
    assert other is not None
    assert (stored.version, stored.exchange_rate) == (2, 25_400)
    assert stored.total_customs_value_vnd == 2_286_012_700
    assert other.exchange_rate == 26_000  # today's rate, for a declaration of today
    [amended_event] = [e for e in events if e["type"] == "customs.declaration.amended.v1"]
    assert Decimal(amended_event["data"]["exchange_rate"]) == 25_400
