"""A declaration under the body limit whose event Kafka could not carry, through the real
router on a real PostgreSQL: refused with a 413 problem, and nothing kept. Accepted, its
outbox row would be refused by the producer on every relay pass, and no event of the
service would leave after it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import Role
from customs_shared.messaging.kafka import MAX_EVENT_BYTES
from customs_shared.messaging.models import OutboxEvent
from customs_shared.settings import ServiceSettings
from declaration_svc.declarations.api import router as declarations_router
from declaration_svc.declarations.models import Declaration
from declaration_svc.settings import DeclarationSettings
from tests.support.factories import principal
from tests.support.inprocess import Tokens, client, service_app
from tests.support.samples import sample

pytestmark = pytest.mark.integration

Sessions = async_sessionmaker[AsyncSession]
BROKER = principal(Role.BROKER, "0312345673", "declarations:read", "declarations:write")
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
