"""One transaction per fetch, on a real broker and a real PostgreSQL: records close behind
each other on several partitions are handled together after the linger, and an outage in
the middle of such a fetch resumes each partition where it stopped."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from pydantic import BaseModel
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.events.catalog import EventType
from customs_shared.events.envelope import new_event
from customs_shared.messaging.consumer import EventConsumer, Subscription
from customs_shared.messaging.kafka import Producer
from customs_shared.messaging.models import OutboxEvent
from customs_shared.messaging.outbox import add_event
from tests.support.topics import committed_offsets, create_topic

pytestmark = pytest.mark.integration

PARTITIONS = 3


class Step(BaseModel):
    n: int
    mode: str = "ok"


@pytest.fixture
async def step(kafka_bootstrap: str) -> EventType[Step]:
    topic = await create_topic(kafka_bootstrap, "test.batching", partitions=PARTITIONS)
    return EventType("test.step.v1", topic, Step, "test", ())


async def _send(producer: Producer, step: EventType[Step], data: Step) -> None:
    """``data`` on partition ``n`` mod PARTITIONS."""
    event = new_event(event_type=step.name, source="/test", subject=str(data.n), data=data)
    await producer.send_and_wait(
        step.topic.name,
        value=event.to_json(),
        key=str(data.n).encode(),
        partition=data.n % PARTITIONS,
    )


async def _run_until(consumer: EventConsumer, finished: asyncio.Event, seconds: float = 30) -> None:
    try:
        await asyncio.wait_for(finished.wait(), seconds)
    finally:
        await consumer.stop()


def _consumer(
    step: EventType[Step],
    sessions: async_sessionmaker[AsyncSession],
    producer: Producer,
    bootstrap: str,
    handle: Subscription[Step],
    *,
    linger: float,
    group: str,
) -> EventConsumer:
    return EventConsumer(
        group_id=group,
        bootstrap=bootstrap,
        sessions=sessions,
        producer=producer,
        subscriptions=[handle],
        max_retries=1,
        retry_backoff_seconds=0.01,
        commit_interval_seconds=0.0,
        linger_seconds=linger,
        # The broker answers each fetch as soon as a record is there: what batches the
        # records here is the consumer's linger alone.
        fetch_min_bytes=1,
        fetch_max_wait_ms=500,
    )


async def _transactions_for_three_records(
    step: EventType[Step],
    sessions: async_sessionmaker[AsyncSession],
    producer: Producer,
    bootstrap: str,
    linger: float,
) -> set[int]:
    """Sends three records, one per partition, 100 ms apart; the ids of the transactions
    that handled them."""
    transactions: set[int] = set()
    handled: list[int] = []
    finished = asyncio.Event()

    async def handle(session: AsyncSession, data: Step) -> None:
        transactions.add(int(await session.scalar(text("SELECT txid_current()")) or 0))
        handled.append(data.n)
        if len(handled) == 3:
            finished.set()

    consumer = _consumer(
        step,
        sessions,
        producer,
        bootstrap,
        Subscription(step, handle),
        linger=linger,
        group=f"test-{uuid.uuid4().hex[:6]}",
    )
    await consumer.start()
    await asyncio.sleep(1.0)  # joined and fetching before the first record
    for n in range(3):
        await _send(producer, step, Step(n=n))
        await asyncio.sleep(0.1)
    await _run_until(consumer, finished)
    assert sorted(handled) == [0, 1, 2]
    return transactions


@pytest.mark.parametrize(
    ("linger", "transactions"),
    [
        pytest.param(1.0, 1, id="within a 1 s linger: one transaction"),
        pytest.param(0.0, 3, id="no linger: one each, as they come"),
    ],
)
async def test_records_close_behind_each_other_share_a_transaction_after_the_linger(
    step: EventType[Step],
    scratch_sessions: async_sessionmaker[AsyncSession],
    producer: Producer,
    kafka_bootstrap: str,
    linger: float,
    transactions: int,
) -> None:
    used = await _transactions_for_three_records(
        step, scratch_sessions, producer, kafka_bootstrap, linger=linger
    )
    assert len(used) == transactions


async def test_an_outage_inside_a_fetch_resumes_each_partition_where_it_stopped(
    step: EventType[Step],
    scratch_sessions: async_sessionmaker[AsyncSession],
    producer: Producer,
    kafka_bootstrap: str,
) -> None:
    sessions = scratch_sessions
    outage_ends = time.monotonic() + 10**9
    finished = asyncio.Event()
    retried = asyncio.Event()
    calls: list[int] = []
    handled: set[int] = set()

    async def handle(session: AsyncSession, data: Step) -> None:
        calls.append(data.n)
        if calls.count(1) >= 3:  # tried in the batch, then alone with its retry, at least
            retried.set()
        if data.mode == "outage" and time.monotonic() < outage_ends:
            raise OperationalError("INSERT", {}, ConnectionRefusedError("database down"))
        add_event(session, step, source="/t", key=f"effect-{data.n}", data=Step(n=data.n))
        handled.add(data.n)
        if len(handled) == 6:  # each partition resumed, in whatever order its fetches come
            finished.set()

    group = f"test-{uuid.uuid4().hex[:6]}"
    consumer = _consumer(
        step,
        sessions,
        producer,
        kafka_bootstrap,
        Subscription(step, handle),
        linger=1.0,
        group=group,
    )
    await consumer.start()
    await asyncio.sleep(1.0)
    # Partitions 0, 1, 2, then again: the outage strikes the second record of the fetch.
    for n in range(6):
        await _send(producer, step, Step(n=n, mode="outage" if n == 1 else "ok"))
    await asyncio.wait_for(retried.wait(), 30)
    outage_ends = time.monotonic()
    await _run_until(consumer, finished)

    async with sessions() as session:
        effects = list(
            await session.scalars(
                select(OutboxEvent.key).where(OutboxEvent.topic == step.topic.name)
            )
        )
        duplicates = await session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.key == "effect-0")
        )
    assert sorted(effects) == [f"effect-{n}" for n in range(6)]
    assert duplicates == 1
    committed = await asyncio.to_thread(committed_offsets, kafka_bootstrap, group)
    assert {tp.partition: offset for tp, offset in committed.items()} == {0: 2, 1: 2, 2: 2}
