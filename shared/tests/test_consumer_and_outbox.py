"""The consumer loop and the outbox relay on a real broker and a real PostgreSQL."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client import REGISTRY
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.events.catalog import EventType, Topic
from customs_shared.messaging.consumer import EventConsumer, PermanentError, Subscription
from customs_shared.messaging.kafka import new_producer
from customs_shared.messaging.models import OutboxEvent, ProcessedEvent
from customs_shared.messaging.outbox import OutboxRelay, OutboxSignal, add_event
from tests.support.postgres import MigratedSessions
from tests.support.topics import read_topic

pytestmark = pytest.mark.integration


class Ping(BaseModel):
    n: int
    mode: str = "ok"


@pytest.fixture
async def ping(kafka_bootstrap: str) -> EventType[Ping]:
    """An event type on a fresh topic of its own (and its DLQ)."""
    topic = Topic(f"test.ping.{uuid.uuid4().hex[:8]}", "n", "test")
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(name, num_partitions=1, replication_factor=1)
                for name in (topic.name, topic.dlq)
            ]
        )
    finally:
        await admin.close()
    return EventType("test.ping.v1", topic, Ping, "test", ())


@pytest.fixture
async def scratch_sessions(migrated_sessions: MigratedSessions) -> async_sessionmaker[AsyncSession]:
    # Every service's migrations create the messaging tables; routing's are the fewest.
    return await migrated_sessions("routing_svc:migrations")


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    producer = new_producer(kafka_bootstrap, "test")
    await producer.start()
    yield producer
    await producer.stop()


async def test_outbox_relay_publishes_committed_events_once_in_order(
    ping: EventType[Ping],
    scratch_sessions: async_sessionmaker[AsyncSession],
    producer: AIOKafkaProducer,
    kafka_bootstrap: str,
) -> None:
    async with scratch_sessions() as session, session.begin():
        for n in range(5):
            add_event(session, ping, source="/test", key="k", data=Ping(n=n))
    async with scratch_sessions() as session:
        transaction = await session.begin()
        add_event(session, ping, source="/test", key="k", data=Ping(n=99))
        await transaction.rollback()  # its event must never leave

    relay = OutboxRelay(scratch_sessions, producer, OutboxSignal(), poll_seconds=0.05, batch_size=2)
    assert await relay.publish_batch() == 2
    assert REGISTRY.get_sample_value("outbox_pending_events") == 3
    relay.start()
    await asyncio.sleep(0.5)
    await relay.stop()

    published = [
        r.json()["data"]["n"]
        for r in await asyncio.to_thread(read_topic, kafka_bootstrap, ping.topic.name)
    ]
    assert published == [0, 1, 2, 3, 4]
    async with scratch_sessions() as session:
        pending = await session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.published_at.is_(None))
        )
    assert pending == 0
    assert REGISTRY.get_sample_value("outbox_pending_events") == 0


async def test_consumer_retries_dead_letters_and_dedupes(
    ping: EventType[Ping],
    scratch_sessions: async_sessionmaker[AsyncSession],
    producer: AIOKafkaProducer,
    kafka_bootstrap: str,
) -> None:
    calls: list[tuple[int, str]] = []
    flaky_failures = {"left": 2}
    outage: dict[str, float] = {}

    async def handle(session: AsyncSession, data: Ping) -> None:
        calls.append((data.n, data.mode))
        if data.mode == "permanent":
            raise PermanentError("cannot ever work")
        if data.mode == "always":
            raise ValueError("keeps failing")
        if data.mode == "outage":
            ends = outage.setdefault("ends", time.monotonic() + 2.5)  # outlasts the retries
            if time.monotonic() < ends:
                raise OperationalError("INSERT", {}, ConnectionRefusedError("database down"))
        if data.mode == "flaky" and flaky_failures["left"] > 0:
            flaky_failures["left"] -= 1
            raise ConnectionError("transient")
        # The handler's effect, committed only with its transaction.
        add_event(session, ping, source="/t", key=f"effect-{data.n}", data=Ping(n=data.n))

    async with scratch_sessions() as session, session.begin():
        add_event(session, ping, source="/t", key="1", data=Ping(n=1))
        add_event(session, ping, source="/t", key="2", data=Ping(n=2, mode="flaky"))
        add_event(session, ping, source="/t", key="3", data=Ping(n=3, mode="permanent"))
        add_event(session, ping, source="/t", key="4", data=Ping(n=4, mode="always"))
        duplicate = add_event(session, ping, source="/t", key="5", data=Ping(n=5))
        add_event(session, ping, source="/t", key="7", data=Ping(n=7, mode="outage"))
        add_event(session, ping, source="/t", key="8", data=Ping(n=8))
    relay = OutboxRelay(
        scratch_sessions, producer, OutboxSignal(), poll_seconds=0.05, batch_size=100
    )
    await relay.publish_batch()
    # The same event id delivered twice, as after a relay crash between send and mark.
    await producer.send_and_wait(ping.topic.name, value=duplicate.to_json(), key=b"5")
    await producer.send_and_wait(ping.topic.name, value=b"not json", key=b"6")

    async def effects() -> list[str]:
        async with scratch_sessions() as session:
            keys = await session.scalars(
                select(OutboxEvent.key).where(OutboxEvent.key.like("effect-%"))
            )
            return sorted(keys)

    consumer = EventConsumer(
        group_id=f"test-{uuid.uuid4().hex[:6]}",
        bootstrap=kafka_bootstrap,
        sessions=scratch_sessions,
        producer=producer,
        subscriptions=[Subscription(ping, handle)],
        max_retries=2,
        retry_backoff_seconds=0.01,
    )
    await consumer.start()
    try:
        for _ in range(200):
            if len(await effects()) == 5:
                break
            await asyncio.sleep(0.1)
    finally:
        await consumer.stop()
    dlq = await asyncio.to_thread(read_topic, kafka_bootstrap, ping.topic.dlq)

    # Each good record took effect exactly once: retried, deduplicated, kept through the outage.
    assert await effects() == ["effect-1", "effect-2", "effect-5", "effect-7", "effect-8"]
    errors = {r.key: r.headers["dlq-error"] for r in dlq}
    assert sorted(errors) == ["3", "4", "6"]
    assert len(dlq) == 3  # the outage's rewind did not dead-letter anything twice
    assert "cannot ever work" in errors["3"]
    assert "keeps failing" in errors["4"]
    assert calls.count((3, "permanent")) <= 2  # at most once in the batch, once alone
    assert 3 <= calls.count((4, "always")) <= 4  # 1 + 2 retries alone, maybe once in the batch
    assert calls.count((7, "outage")) > 4  # more tries than retries: kept, not dead-lettered
    async with scratch_sessions() as session:
        handled = await session.scalar(select(func.count()).select_from(ProcessedEvent))
    assert handled == 5  # 1, 2, 5, 7 and 8: failed handlers leave no mark
