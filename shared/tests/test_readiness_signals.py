"""What /readyz and the metrics say when messaging stops moving, on a real broker and a
real PostgreSQL: a consumer stalled with records waiting, a consumer whose every fetch
fails (and its replacement by a new member), an outbox the relay cannot publish."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError
from prometheus_client import REGISTRY
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.events.catalog import EventType, Topic
from customs_shared.events.envelope import new_event
from customs_shared.health import NotReady
from customs_shared.messaging.consumer import RENEW_AFTER_SECONDS, EventConsumer, Subscription
from customs_shared.messaging.kafka import Producer, new_producer
from customs_shared.messaging.outbox import OutboxRelay, OutboxSignal, add_event
from tests.support.postgres import MigratedSessions

pytestmark = pytest.mark.integration

LIMIT_SECONDS = 0.5


class Tick(BaseModel):
    n: int


def _tick(topic: Topic) -> EventType[Tick]:
    return EventType("test.tick.v1", topic, Tick, "test", ())


async def _create(bootstrap: str, topic: Topic) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(n, num_partitions=1, replication_factor=1) for n in (topic.name, topic.dlq)]
        )
    finally:
        await admin.close()


def _new_topic() -> Topic:
    return Topic(f"test.tick.{uuid.uuid4().hex[:8]}", "n", "test")


@pytest.fixture
async def sessions(migrated_sessions: MigratedSessions) -> async_sessionmaker[AsyncSession]:
    return await migrated_sessions("routing_svc:migrations")


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[Producer]:
    # A short timeout: a send to a topic the broker lacks fails in a second, not 15.
    producer = new_producer(kafka_bootstrap, "test", request_timeout_ms=1_000)
    await producer.start()
    yield producer
    await producer.stop()


def _consumer(
    group: str,
    subscription: Subscription[Tick],
    sessions: async_sessionmaker[AsyncSession],
    producer: Producer,
    bootstrap: str,
    *,
    renew_after_seconds: float = RENEW_AFTER_SECONDS,
) -> EventConsumer:
    return EventConsumer(
        group_id=group,
        bootstrap=bootstrap,
        sessions=sessions,
        producer=producer,
        subscriptions=[subscription],
        max_retries=0,
        retry_backoff_seconds=0.01,
        commit_interval_seconds=1.0,
        linger_seconds=0.0,
        renew_after_seconds=renew_after_seconds,
    )


async def _until(check: Callable[[], Awaitable[None]], *, fails: bool) -> str:
    """Runs ``check`` until it fails (``fails``) or passes; the NotReady message, if any.
    Bounded at 20 s."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            await check()
        except NotReady as exc:
            if fails:
                return str(exc)
        else:
            if not fails:
                return ""
        await asyncio.sleep(0.1)
    raise TimeoutError("the check did not change in 20 s")


async def test_a_consumer_blocked_with_records_waiting_is_reported_stalled(
    sessions: async_sessionmaker[AsyncSession], producer: Producer, kafka_bootstrap: str
) -> None:
    topic = _new_topic()
    await _create(kafka_bootstrap, topic)
    release = asyncio.Event()

    async def blocked(_session: AsyncSession, _data: Tick) -> None:
        await release.wait()  # as a handler waiting on a lock held elsewhere

    group = f"test-{uuid.uuid4().hex[:6]}"
    subscription = Subscription(_tick(topic), blocked)
    consumer = _consumer(group, subscription, sessions, producer, kafka_bootstrap)
    await consumer.start()
    try:
        await _until(lambda: consumer.check_progress(LIMIT_SECONDS), fails=False)
        idle_for = REGISTRY.get_sample_value("consumer_stalled_seconds", {"group": group})
        await asyncio.sleep(LIMIT_SECONDS * 2)  # idle with nothing waiting: not a stall
        await consumer.check_progress(LIMIT_SECONDS)
        event = new_event(event_type="test.tick.v1", source="/t", subject="1", data=Tick(n=1))
        await producer.send_and_wait(topic.name, value=event.to_json(), key=b"1")

        message = await _until(lambda: consumer.check_progress(LIMIT_SECONDS), fails=True)
        stalled_for = REGISTRY.get_sample_value("consumer_stalled_seconds", {"group": group})
        release.set()
        await _until(lambda: consumer.check_progress(LIMIT_SECONDS), fails=False)
        after = REGISTRY.get_sample_value("consumer_stalled_seconds", {"group": group})
    finally:
        release.set()
        await consumer.stop()
    assert idle_for == 0
    assert f"consumer {group} stalled" in message
    assert stalled_for is not None
    assert stalled_for > LIMIT_SECONDS
    assert after == 0


RENEW_AFTER_SECONDS = 3.0


async def test_a_consumer_whose_every_fetch_fails_is_reported_then_replaced(
    sessions: async_sessionmaker[AsyncSession], producer: Producer, kafka_bootstrap: str
) -> None:
    """aiokafka's group coordination ended for good (as an error it did not expect ends
    it: aio-libs/aiokafka#1038), every fetch fails from then on, and nothing restarts it.
    Readiness names it, and after RENEW_AFTER_SECONDS a new member of the group takes
    over and handles what was sent meanwhile."""
    topic = _new_topic()
    await _create(kafka_bootstrap, topic)
    handled: list[int] = []

    async def record(_session: AsyncSession, data: Tick) -> None:
        handled.append(data.n)

    group = f"test-{uuid.uuid4().hex[:6]}"
    consumer = _consumer(
        group,
        Subscription(_tick(topic), record),
        sessions,
        producer,
        kafka_bootstrap,
        renew_after_seconds=RENEW_AFTER_SECONDS,
    )

    async def send(n: int) -> None:
        event = new_event(event_type="test.tick.v1", source="/t", subject=str(n), data=Tick(n=n))
        await producer.send_and_wait(topic.name, value=event.to_json(), key=str(n).encode())

    async def handled_all(*wanted: int) -> None:
        if not set(wanted) <= set(handled):
            raise NotReady("not yet")

    await consumer.start()
    try:
        await send(1)
        await _until(lambda: handled_all(1), fails=False)
        # The coordination task ends with the error aiokafka then raises from every fetch.
        coordinator = consumer._consumer._coordinator
        coordinator._coordination_task.cancel()
        dead = asyncio.get_running_loop().create_future()
        dead.set_exception(
            KafkaError("Unexpected error during coordination RuntimeError('handler is closed')")
        )
        coordinator._coordination_task = dead
        await send(2)

        message = await _until(lambda: consumer.check_progress(LIMIT_SECONDS), fails=True)
        await _until(lambda: handled_all(1, 2), fails=False)
        await _until(lambda: consumer.check_progress(LIMIT_SECONDS), fails=False)
    finally:
        await consumer.stop()
    assert f"consumer {group} failing: every fetch for" in message
    assert "Unexpected error during coordination" in message
    assert REGISTRY.get_sample_value("kafka_consumer_renewals_total", {"group": group}) == 1
    assert handled.count(2) == 1


async def test_an_outbox_the_relay_cannot_publish_is_reported_with_its_age(
    sessions: async_sessionmaker[AsyncSession], producer: Producer, kafka_bootstrap: str
) -> None:
    topic = _new_topic()  # not created yet: the broker refuses every send to it
    async with sessions() as session, session.begin():
        add_event(session, _tick(topic), source="/t", key="1", data=Tick(n=1))
    relay = OutboxRelay(
        sessions.kw["bind"], producer, OutboxSignal(), poll_seconds=0.05, batch_size=10
    )
    await relay.check_backlog(LIMIT_SECONDS)
    relay.start()
    try:
        message = await _until(lambda: relay.check_backlog(LIMIT_SECONDS), fails=True)
        age = REGISTRY.get_sample_value("outbox_oldest_unpublished_age_seconds")
        pending = REGISTRY.get_sample_value("outbox_pending_events")
        await _create(kafka_bootstrap, topic)
        await _until(lambda: relay.check_backlog(LIMIT_SECONDS), fails=False)
        await _until(_published(relay), fails=False)
    finally:
        await relay.stop()
    assert "outbox stuck: oldest unpublished event" in message
    assert age is not None
    assert age > LIMIT_SECONDS
    assert pending == 1
    assert REGISTRY.get_sample_value("outbox_oldest_unpublished_age_seconds") == 0


def _published(relay: OutboxRelay) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        if relay.oldest_unpublished_age() != 0:
            raise NotReady("not yet")
        if REGISTRY.get_sample_value("outbox_pending_events") != 0:
            raise NotReady("not yet")

    return check
