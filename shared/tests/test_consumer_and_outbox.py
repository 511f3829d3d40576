"""The consumer loop and the outbox relay on a real broker and a real PostgreSQL."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial

import pytest
from prometheus_client import REGISTRY
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.events.catalog import EventType
from customs_shared.events.envelope import new_event
from customs_shared.messaging.consumer import EventConsumer, PermanentError, Subscription
from customs_shared.messaging.kafka import Producer
from customs_shared.messaging.models import OutboxEvent, ProcessedEvent
from customs_shared.messaging.outbox import OutboxRelay, OutboxSignal, add_event
from tests.support.topics import create_topic, read_topic

pytestmark = pytest.mark.integration


class Ping(BaseModel):
    n: int
    mode: str = "ok"


@pytest.fixture
async def ping(kafka_bootstrap: str) -> EventType[Ping]:
    """An event type on a fresh topic of its own (and its DLQ)."""
    topic = await create_topic(kafka_bootstrap, "test.ping")
    return EventType("test.ping.v1", topic, Ping, "test", ())


async def test_outbox_relay_publishes_committed_events_once_in_order(
    ping: EventType[Ping],
    scratch_sessions: async_sessionmaker[AsyncSession],
    producer: Producer,
    kafka_bootstrap: str,
) -> None:
    async with scratch_sessions() as session, session.begin():
        for n in range(5):
            add_event(session, ping, source="/test", key="k", data=Ping(n=n))
    async with scratch_sessions() as session:
        transaction = await session.begin()
        add_event(session, ping, source="/test", key="k", data=Ping(n=99))
        await transaction.rollback()  # its event must never leave

    relay = OutboxRelay(
        scratch_sessions.kw["bind"], producer, OutboxSignal(), poll_seconds=0.05, batch_size=2
    )
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


@dataclass
class Consumed:
    """What a consumer run left behind."""

    calls: list[tuple[int, str]]
    effects: list[str]
    dead_letters: dict[str, str]  # key → dlq-error header
    processed: int


async def consume(
    ping: EventType[Ping],
    sessions: async_sessionmaker[AsyncSession],
    producer: Producer,
    kafka_bootstrap: str,
    *,
    events: list[Ping],
    handle: Callable[[AsyncSession, Ping], Awaitable[None]],
    effects_expected: int,
    extra_records: Sequence[tuple[bytes, bytes]] = (),
    prepare: Callable[[AsyncSession, Sequence[Ping]], Awaitable[None]] | None = None,
) -> Consumed:
    """Publishes ``events`` (through the outbox) and ``extra_records`` (raw), runs a
    consumer whose handler is ``handle`` until ``effects_expected`` effects exist,
    and reports calls, effects, DLQ records and processed-event rows."""
    calls: list[tuple[int, str]] = []

    async def recorded(session: AsyncSession, data: Ping) -> None:
        calls.append((data.n, data.mode))
        await handle(session, data)
        # The handler's effect, committed only with its transaction.
        add_event(session, ping, source="/t", key=f"effect-{data.n}", data=Ping(n=data.n))

    async with sessions() as session, session.begin():
        for event in events:
            add_event(session, ping, source="/t", key=str(event.n), data=event)
    relay = OutboxRelay(
        sessions.kw["bind"], producer, OutboxSignal(), poll_seconds=0.05, batch_size=100
    )
    await relay.publish_batch()
    for key, raw in extra_records:
        await producer.send_and_wait(ping.topic.name, value=raw, key=key)

    async def effects() -> list[str]:
        async with sessions() as session:
            keys = await session.scalars(
                select(OutboxEvent.key).where(OutboxEvent.key.like("effect-%"))
            )
            return sorted(keys)

    consumer = EventConsumer(
        group_id=f"test-{uuid.uuid4().hex[:6]}",
        bootstrap=kafka_bootstrap,
        sessions=sessions,
        producer=producer,
        subscriptions=[Subscription(ping, recorded, prepare)],
        max_retries=2,
        retry_backoff_seconds=0.01,
        commit_interval_seconds=1.0,
        linger_seconds=0.0,
    )
    await consumer.start()
    try:
        for _ in range(200):
            if len(await effects()) >= effects_expected:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)  # let anything further (a DLQ send) land
    finally:
        await consumer.stop()
    dlq = await asyncio.to_thread(read_topic, kafka_bootstrap, ping.topic.dlq)
    async with sessions() as session:
        processed = await session.scalar(select(func.count()).select_from(ProcessedEvent))
    return Consumed(
        calls=calls,
        effects=await effects(),
        dead_letters={r.key: r.headers["dlq-error"] for r in dlq},
        processed=int(processed or 0),
    )


Runner = Callable[..., Awaitable[Consumed]]


@pytest.fixture
def run(
    ping: EventType[Ping],
    scratch_sessions: async_sessionmaker[AsyncSession],
    producer: Producer,
    kafka_bootstrap: str,
) -> Runner:
    """``consume`` on this test's topic and database."""
    return partial(consume, ping, scratch_sessions, producer, kafka_bootstrap)


async def _succeed(session: AsyncSession, data: Ping) -> None:
    return None


async def test_consumer_retries_a_transient_failure(run: Runner) -> None:
    failures = {"left": 2}

    async def flaky(session: AsyncSession, data: Ping) -> None:
        if data.mode == "flaky" and failures["left"] > 0:
            failures["left"] -= 1
            raise ConnectionError("transient")

    events = [Ping(n=1), Ping(n=2, mode="flaky"), Ping(n=3)]
    consumed = await run(
        events=events,
        handle=flaky,
        effects_expected=3,
    )
    assert consumed.effects == ["effect-1", "effect-2", "effect-3"]
    assert consumed.dead_letters == {}
    assert consumed.processed == 3


async def test_consumer_dead_letters_a_permanent_error_without_retrying(run: Runner) -> None:
    async def refuse(session: AsyncSession, data: Ping) -> None:
        if data.mode == "permanent":
            raise PermanentError("cannot ever work")

    events = [Ping(n=1, mode="permanent"), Ping(n=2)]
    consumed = await run(
        events=events,
        handle=refuse,
        effects_expected=1,
    )
    assert consumed.effects == ["effect-2"]
    assert list(consumed.dead_letters) == ["1"]
    assert "cannot ever work" in consumed.dead_letters["1"]
    assert consumed.calls.count((1, "permanent")) <= 2  # at most once in the batch, once alone
    assert consumed.processed == 1  # a failed handler leaves no mark


async def test_consumer_dead_letters_after_the_retries(run: Runner) -> None:
    async def failing(session: AsyncSession, data: Ping) -> None:
        if data.mode == "always":
            raise ValueError("keeps failing")

    events = [Ping(n=1, mode="always"), Ping(n=2)]
    consumed = await run(
        events=events,
        handle=failing,
        effects_expected=1,
    )
    assert consumed.effects == ["effect-2"]
    assert list(consumed.dead_letters) == ["1"]
    assert "ValueError: keeps failing" in consumed.dead_letters["1"]
    assert 3 <= consumed.calls.count((1, "always")) <= 4  # 1 + 2 retries alone, maybe once batched


async def test_consumer_dead_letters_an_undecodable_record_and_goes_on(
    run: Runner, ping: EventType[Ping]
) -> None:
    consumed = await run(
        events=[],
        handle=_succeed,
        effects_expected=1,
        extra_records=[
            (b"6", b"not json"),
            (b"7", Ping(n=7).model_dump_json().encode()),  # data without its envelope
            (
                b"8",
                new_event(event_type=ping.name, source="/t", subject="8", data=Ping(n=8)).to_json(),
            ),
        ],
    )
    assert sorted(consumed.dead_letters) == ["6", "7"]
    assert all(error.startswith("not a CloudEvent") for error in consumed.dead_letters.values())
    assert consumed.effects == ["effect-8"]  # the record after them was handled
    assert consumed.calls == [(8, "ok")]


async def test_consumer_dead_letters_an_unknown_type_and_an_outsized_record_and_goes_on(
    run: Runner, ping: EventType[Ping], kafka_bootstrap: str
) -> None:
    unknown = new_event(event_type="test.nobody.v1", source="/t", subject="9", data=Ping(n=9))
    good = new_event(event_type=ping.name, source="/t", subject="11", data=Ping(n=11))
    # Just under the producer's limit: the copy with the DLQ headers no longer fits.
    outsized = b'{"padding": "' + b"x" * (1_048_576 - 300) + b'"}'
    consumed = await run(
        events=[],
        handle=_succeed,
        effects_expected=1,
        extra_records=[
            (b"9", unknown.to_json()),
            (b"10", outsized),
            (b"11", good.to_json()),
        ],
    )
    assert consumed.dead_letters["9"] == f"unknown event type 'test.nobody.v1' on {ping.topic.name}"
    assert consumed.dead_letters["10"].startswith("not a CloudEvent: 5 errors (id: Field required")
    assert consumed.effects == ["effect-11"]  # the record after them was handled
    copies = {
        r.key: r for r in await asyncio.to_thread(read_topic, kafka_bootstrap, ping.topic.dlq)
    }
    assert copies["9"].value == unknown.to_json()
    assert copies["10"].value == b""
    assert copies["10"].headers["dlq-omitted-bytes"] == str(len(outsized) + 2)


async def test_consumer_handles_a_redelivered_event_once(
    run: Runner, ping: EventType[Ping], scratch_sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with scratch_sessions() as session, session.begin():
        first = add_event(session, ping, source="/t", key="5", data=Ping(n=5))
    # The same event id delivered twice, as after a relay crash between send and mark.
    consumed = await run(
        events=[Ping(n=6)],
        handle=_succeed,
        effects_expected=2,
        extra_records=[(b"5", first.to_json())],
    )
    assert consumed.effects == ["effect-5", "effect-6"]
    assert consumed.calls.count((5, "ok")) == 1
    assert consumed.processed == 2


async def test_consumer_prepares_each_batch_once_before_its_handlers(
    run: Runner, ping: EventType[Ping], scratch_sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with scratch_sessions() as session, session.begin():
        seen = add_event(session, ping, source="/t", key="1", data=Ping(n=1))
    order: list[str] = []

    async def prepare(session: AsyncSession, data: Sequence[Ping]) -> None:
        order.extend(f"prepare {d.n}" for d in data)

    async def handle(session: AsyncSession, data: Ping) -> None:
        order.append(f"handle {data.n}")

    # Event 1 arrives twice (a redelivery): prepared and handled once.
    consumed = await run(
        events=[Ping(n=2), Ping(n=3)],
        handle=handle,
        effects_expected=3,
        extra_records=[(b"1", seen.to_json()), (b"1", seen.to_json())],
        prepare=prepare,
    )

    assert consumed.effects == ["effect-1", "effect-2", "effect-3"]
    assert sorted(order) == [
        *(f"handle {n}" for n in (1, 2, 3)),
        *(f"prepare {n}" for n in (1, 2, 3)),
    ]
    for n in (1, 2, 3):
        assert order.index(f"prepare {n}") < order.index(f"handle {n}")


async def test_consumer_keeps_a_record_through_an_outage(run: Runner) -> None:
    outage: dict[str, float] = {}

    async def database_down(session: AsyncSession, data: Ping) -> None:
        if data.mode == "outage":
            ends = outage.setdefault("ends", time.monotonic() + 2.5)  # outlasts the retries
            if time.monotonic() < ends:
                raise OperationalError("INSERT", {}, ConnectionRefusedError("database down"))

    events = [Ping(n=1), Ping(n=2, mode="outage"), Ping(n=3)]
    consumed = await run(
        events=events,
        handle=database_down,
        effects_expected=3,
    )
    assert consumed.effects == ["effect-1", "effect-2", "effect-3"]
    assert consumed.dead_letters == {}  # an outage never dead-letters a good record
    assert consumed.calls.count((2, "outage")) > 3  # more tries than retries: kept and retried


async def test_consumer_lag_shows_records_held_through_an_outage_and_clears_after(
    run: Runner, ping: EventType[Ping]
) -> None:
    labels = {"topic": ping.topic.name, "partition": "0"}
    seen: list[float | None] = []
    outage: dict[str, float] = {}

    async def database_down(session: AsyncSession, data: Ping) -> None:
        if data.mode == "outage":
            seen.append(REGISTRY.get_sample_value("consumer_lag_records", labels))
            ends = outage.setdefault("ends", time.monotonic() + 2.5)
            if time.monotonic() < ends:
                raise OperationalError("INSERT", {}, ConnectionRefusedError("database down"))

    events = [Ping(n=1), Ping(n=2, mode="outage"), Ping(n=3)]
    consumed = await run(events=events, handle=database_down, effects_expected=3)
    assert consumed.effects == ["effect-1", "effect-2", "effect-3"]
    # While the outage holds n=2 and n=3 back, they are the lag.
    assert 2 in seen
    assert REGISTRY.get_sample_value("consumer_lag_records", labels) == 0
