"""Fixtures of the messaging tests: a database with the messaging tables, a producer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.messaging.kafka import Producer, new_producer
from tests.support.postgres import MigratedSessions


@pytest.fixture
async def scratch_sessions(migrated_sessions: MigratedSessions) -> async_sessionmaker[AsyncSession]:
    # Every service's migrations create the messaging tables; routing's are the fewest.
    return await migrated_sessions("routing_svc:migrations")


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[Producer]:
    producer = new_producer(kafka_bootstrap, "test")
    await producer.start()
    yield producer
    await producer.stop()
