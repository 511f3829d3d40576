"""Unrestricted access to sensitive business flows (OWASP API6) in declaration-svc,
through its real routers on a real PostgreSQL: a flood of retries with one idempotency
key makes one declaration however many arrive at once, a key is bounded and bound to its
body, a released declaration can be neither amended nor cancelled (409 problem), and a
declaration within the body limit whose event Kafka could not carry is refused (413
problem) with nothing kept: accepted, its outbox row would be refused by the producer on
every relay pass, and no event of the service would leave after it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import Role
from customs_shared.events.schemas import Lane, LaneAssigned, LaneReason
from customs_shared.messaging.kafka import MAX_EVENT_BYTES
from customs_shared.messaging.models import OutboxEvent
from customs_shared.settings import ServiceSettings
from declaration_svc.declarations import service
from declaration_svc.declarations.api import router as declarations_router
from declaration_svc.declarations.models import Declaration, DeclarationStatus
from declaration_svc.settings import DeclarationSettings
from tests.support.factories import principal
from tests.support.inprocess import Tokens, client, service_app
from tests.support.samples import sample

pytestmark = pytest.mark.integration

Sessions = async_sessionmaker[AsyncSession]
BROKER = principal(Role.BROKER, "0312345673", "declarations:read", "declarations:write")
OFFICER = principal(Role.OFFICER, "customs-hq", "declarations:decide", subject="officer")
RETRIES = 16  # at once: under the pool's 20 connections
BODY_LIMIT = ServiceSettings.model_fields["max_body_bytes"].default


def _wordy(items: int) -> dict[str, Any]:
    """The sample with ``items`` lines of the longest description and brand allowed, in
    Vietnamese letters (three bytes each in UTF-8, in the body and in the event alike)."""
    body = sample("declaration-enterprise")
    line = {**body["items"][1], "description": "ệ" * 500, "brand": "ệ" * 200}
    body["items"] = [dict(line) for _ in range(items)]
    body["invoice"]["total"] = str(Decimal(line["customs_value"]) * items)
    return body


@pytest.fixture
async def http(sessions: Sessions) -> AsyncIterator[tuple[Tokens, httpx.AsyncClient]]:
    tokens = Tokens()
    app = service_app([declarations_router])
    async with client(app, sessions, tokens, DeclarationSettings()) as api:
        yield tokens, api


async def _count(sessions: Sessions) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Declaration)) or 0)


async def test_a_flood_of_retries_with_one_key_makes_one_declaration(
    sessions: Sessions, http: tuple[Tokens, httpx.AsyncClient]
) -> None:
    tokens, api = http
    headers = {**tokens.headers(BROKER), "Idempotency-Key": f"flood-{uuid.uuid4()}"}
    body = sample("declaration-enterprise")
    answers = await asyncio.gather(
        *(api.post("/api/v1/declarations", json=body, headers=headers) for _ in range(RETRIES))
    )
    # Each is the declaration, or a 409 problem while the first is still being stored.
    made = [a for a in answers if a.status_code in {201, 202}]
    waiting = [a for a in answers if a.status_code == 409]
    assert len(made) + len(waiting) == RETRIES, [a.text[:200] for a in answers]
    assert made
    assert all("still being processed" in a.json()["title"] for a in waiting)
    assert len({a.json()["id"] for a in made}) == 1
    assert await _count(sessions) == 1
    # The key is bound to its body: another body under it is refused, and stores nothing.
    other = {**body, "customs_office": "03CE"}
    reused = await api.post("/api/v1/declarations", json=other, headers=headers)
    assert reused.status_code in {409, 422}, reused.text
    assert reused.headers["content-type"] == "application/problem+json"
    assert await _count(sessions) == 1


@pytest.mark.parametrize("key", [b"k" * 256, b"", "schlüssel".encode(), b"a\x01b"])
async def test_an_oversized_or_unprintable_key_is_refused(
    sessions: Sessions, http: tuple[Tokens, httpx.AsyncClient], key: bytes
) -> None:
    tokens, api = http
    response = await api.post(
        "/api/v1/declarations",
        json=sample("declaration-enterprise"),
        headers=[*tokens.headers(BROKER).items(), ("Idempotency-Key", key)],
    )
    assert response.status_code == 422, response.text
    assert await _count(sessions) == 0


async def test_an_item_unit_outside_recommendation_20_is_a_field_problem(
    sessions: Sessions, http: tuple[Tokens, httpx.AsyncClient]
) -> None:
    tokens, api = http
    body = sample("declaration-enterprise")
    body["items"][0]["unit"] = "QQQ"
    refused = await api.post("/api/v1/declarations", json=body, headers=tokens.headers(BROKER))
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert [(e["loc"], e["msg"]) for e in refused.json()["errors"]] == [
        (
            ["body", "items", 0, "unit"],
            "Value error, QQQ is not a unit code of UN/ECE Recommendation 20"
            " (e.g. H87, KGM, LTR, MTR)",
        )
    ]
    assert await _count(sessions) == 0
    # Any unit of the full list is taken, not only the common ones.
    body["items"][0]["unit"] = "MTK"
    accepted = await api.post("/api/v1/declarations", json=body, headers=tokens.headers(BROKER))
    assert accepted.status_code in {201, 202}, accepted.text
    assert await _count(sessions) == 1


async def test_a_released_declaration_is_neither_amended_nor_cancelled(
    sessions: Sessions, http: tuple[Tokens, httpx.AsyncClient]
) -> None:
    tokens, api = http
    submitted = await api.post(
        "/api/v1/declarations",
        json=sample("declaration-enterprise"),
        headers=tokens.headers(BROKER),
    )
    declaration_id = uuid.UUID(submitted.json()["id"])
    async with sessions() as session, session.begin():
        await service.record_lane(
            session,
            LaneAssigned(
                declaration_id=declaration_id,
                version=1,
                tenant=BROKER.tenant,
                lane=Lane.GREEN,
                reasons=[LaneReason(rule="r", lane=Lane.GREEN, explanation="green")],
                rule_set_version="test",
                inputs={},
                decided_at=datetime.now(UTC),
            ),
        )
        await service.change_status(
            session=session,
            principal=OFFICER,
            declaration_id=declaration_id,
            target=DeclarationStatus.RELEASED,
            reason="ok",
        )
    url = f"/api/v1/declarations/{declaration_id}"
    amended = await api.put(
        url,
        json=sample("declaration-enterprise"),
        headers={**tokens.headers(BROKER), "If-Match": '"v1"'},
    )
    cancelled = await api.post(
        f"{url}/cancel", json={"reason": "too late"}, headers=tokens.headers(BROKER)
    )
    after = await api.get(url, headers=tokens.headers(BROKER))
    assert (amended.status_code, cancelled.status_code) == (409, 409), amended.text
    assert amended.headers["content-type"] == "application/problem+json"
    assert (after.json()["status"], after.json()["version"]) == ("RELEASED", 1)


async def _stored(sessions: Sessions) -> tuple[int, int]:
    async with sessions() as session:
        declarations = await session.scalar(select(func.count()).select_from(Declaration))
        events = await session.scalar(select(func.count()).select_from(OutboxEvent))
        return int(declarations or 0), int(events or 0)


async def test_a_declaration_whose_event_kafka_cannot_carry_is_413_and_nothing_is_kept(
    sessions: Sessions, http: tuple[Tokens, httpx.AsyncClient]
) -> None:
    tokens, api = http
    body = _wordy(465)
    sent = httpx.Request("POST", "http://x", json=body).content
    assert len(sent) < BODY_LIMIT  # the body itself is within the limit
    headers = {
        **tokens.headers(BROKER),
        "Idempotency-Key": f"wordy-{uuid.uuid4()}",
        "Content-Type": "application/json",
    }

    refused = await api.post("/api/v1/declarations", content=sent, headers=headers)

    assert refused.status_code == 413, refused.text[:500]
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert "customs.declaration.submitted.v1" in problem["detail"]
    assert f"{MAX_EVENT_BYTES:,} bytes" in problem["detail"]
    assert "Nothing was accepted" in problem["detail"]
    assert await _stored(sessions) == (0, 0)
    # Its key holds nothing either: the same request again is refused the same way.
    again = await api.post("/api/v1/declarations", content=sent, headers=headers)
    assert again.status_code == 413, again.text[:500]

    # Fewer lines of the same kind go through, with their event.
    fewer = await api.post("/api/v1/declarations", json=_wordy(300), headers=tokens.headers(BROKER))
    assert fewer.status_code == 202, fewer.text[:500]
    assert await _stored(sessions) == (1, 1)
