"""When the consumer commits its offsets, on a real broker and a real PostgreSQL: at most
once per commit interval while records flow, at once when it goes idle, when it stops,
and for the partitions a rebalance takes away."""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from prometheus_client import REGISTRY
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.events.catalog import EventType
from customs_shared.events.envelope import new_event
from customs_shared.messaging.consumer import EventConsumer, Subscription
from customs_shared.messaging.kafka import Producer
from tests.support.topics import committed_offsets, create_topic

pytestmark = pytest.mark.integration

LONG_INTERVAL_SECONDS = 60.0
SEND_EVERY_SECONDS = 0.05  # well under the loop's 200 ms fetch wait: it never goes idle


class Tick(BaseModel):
    n: int


async def _tick_type(bootstrap: str, partitions: int) -> EventType[Tick]:
    topic = await create_topic(bootstrap, "test.commit", partitions=partitions)
    return EventType("test.tick.v1", topic, Tick, "test", ())


class Flow:
    """Sends a tick every SEND_EVERY_SECONDS, keyed over the topic's partitions, until
    stopped; counts what the handlers saw."""

    def __init__(self, producer: Producer, tick: EventType[Tick]) -> None:
        self._producer = producer
        self._tick = tick
        self.handling_seconds = 0.0
        # The first handling of this tick waits for ``release`` (a handler stuck on a
        # lock held elsewhere, say).
        self.held: int | None = None
        self.release = asyncio.Event()
        self.holding = False
        self.sent = 0
        self.handled: list[int] = []
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def handle(self, _session: AsyncSession, data: Tick) -> None:
        if data.n == self.held:
            self.held = None
            self.holding = True
            await self.release.wait()
            self.holding = False
        if self.handling_seconds:
            await asyncio.sleep(self.handling_seconds)
        self.handled.append(data.n)

    async def send(self, count: int) -> None:
        for _ in range(count):
            event = new_event(
                event_type=self._tick.name,
                source="/test",
                subject=str(self.sent),
                data=Tick(n=self.sent),
            )
            await self._producer.send_and_wait(
                self._tick.topic.name, value=event.to_json(), key=str(self.sent).encode()
            )
            self.sent += 1

    def start(self) -> None:
        async def keep_sending() -> None:
            while not self._stopping.is_set():
                await self.send(1)
                await asyncio.sleep(SEND_EVERY_SECONDS)

        self._task = asyncio.create_task(keep_sending())

    async def stop(self) -> None:
        """Stops after the send in progress, then waits until every tick sent is handled
        (20 s at most)."""
        self._stopping.set()
        if self._task is not None:
            await self._task
        await _until(lambda: len(set(self.handled)) >= self.sent, "every tick sent handled")


@dataclass
class Group:
    """A consumer group on a fresh topic, with a flow of ticks to it."""

    name: str
    tick: EventType[Tick]
    flow: Flow
    sessions: async_sessionmaker[AsyncSession]
    producer: Producer
    bootstrap: str

    def consumer(self, interval: float, linger: float = 0.0) -> EventConsumer:
        return EventConsumer(
            group_id=self.name,
            bootstrap=self.bootstrap,
            sessions=self.sessions,
            producer=self.producer,
            subscriptions=[Subscription(self.tick, self.flow.handle)],
            max_retries=0,
            retry_backoff_seconds=0.01,
            commit_interval_seconds=interval,
            linger_seconds=linger,
        )

    async def committed(self) -> int:
        """The sum of the group's committed offsets: how many records it has committed."""
        offsets = await asyncio.to_thread(committed_offsets, self.bootstrap, self.name)
        return sum(offset for offset in offsets.values() if offset > 0)


NewGroup = Callable[..., Awaitable[Group]]


@pytest.fixture
def new_group(
    scratch_sessions: async_sessionmaker[AsyncSession],
    producer: Producer,
    kafka_bootstrap: str,
) -> NewGroup:
    async def made(partitions: int = 1) -> Group:
        tick = await _tick_type(kafka_bootstrap, partitions)
        name = f"test-{uuid.uuid4().hex[:6]}"
        flow = Flow(producer, tick)
        return Group(name, tick, flow, scratch_sessions, producer, kafka_bootstrap)

    return made


async def _until(
    check: Callable[[], bool | Awaitable[bool]], what: str, seconds: float = 20
) -> None:
    deadline = time.monotonic() + seconds
    while not await _value(check()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {seconds:g} s")
        await asyncio.sleep(0.1)


async def test_while_records_flow_offsets_wait_for_the_interval_and_a_stop_commits_them(
    new_group: NewGroup,
) -> None:
    group = await new_group()
    flow = group.flow
    consumer = group.consumer(LONG_INTERVAL_SECONDS)
    await consumer.start()
    flow.start()
    try:
        await _until(lambda: len(flow.handled) >= 20, "20 ticks handled")
        assert await group.committed() == 0, "committed before the interval"
    finally:
        await flow.stop()
        await consumer.stop()
    # Everything handled is committed at the stop: nothing for a successor to redo.
    assert await group.committed() == len(flow.handled) == flow.sent


async def test_with_a_short_interval_offsets_are_committed_while_records_flow(
    new_group: NewGroup,
) -> None:
    group = await new_group()
    flow = group.flow
    consumer = group.consumer(0.3)
    await consumer.start()
    flow.start()
    try:
        await _until(lambda: _at_least(group.committed(), 10), "10 ticks committed")
        assert len(flow.handled) >= await group.committed()
    finally:
        await flow.stop()
        await consumer.stop()


async def test_a_consumer_gone_idle_commits_at_once(
    new_group: NewGroup,
) -> None:
    group = await new_group()
    flow = group.flow
    consumer = group.consumer(LONG_INTERVAL_SECONDS)
    await consumer.start()
    try:
        await flow.send(5)
        await _until(lambda: len(flow.handled) == 5, "5 ticks handled")
        # Well within the interval, but nothing else is coming.
        await _until(lambda: _at_least(group.committed(), 5), "commit", 3)
    finally:
        await consumer.stop()


async def test_a_rebalance_commits_what_was_handled_of_the_partitions_it_takes(
    new_group: NewGroup,
) -> None:
    group = await new_group(partitions=2)
    await _second_member_joins_and_leaves(group)


async def test_a_rebalance_waits_for_the_batch_in_hand(new_group: NewGroup) -> None:
    """Handling takes most of the time between ticks, so a rebalance almost always
    begins with a batch in hand. Handled after the revocation, its offsets could no
    longer be committed, and the partition's new owner would fetch it again."""
    group = await new_group(partitions=2)
    group.flow.handling_seconds = SEND_EVERY_SECONDS * 0.8
    await _second_member_joins_and_leaves(group)


async def test_a_rebalance_begun_during_the_linger_waits_for_the_batch(
    new_group: NewGroup,
) -> None:
    """With a linger longer than the time between ticks, a fetched batch spends most of
    its time waiting for more. A fetch after a rebalance has begun waits for the new
    assignment, which waits for the batch: the batch must go on without it."""
    group = await new_group(partitions=2)
    await _second_member_joins_and_leaves(group, linger=SEND_EVERY_SECONDS * 2)


async def test_a_rebalance_does_not_wait_for_ever_for_a_stuck_batch(
    new_group: NewGroup, caplog: pytest.LogCaptureFixture
) -> None:
    """A rebalance waits for a member's batch in hand, and the whole group with it: a
    stuck handler must not hold everyone's partitions. The broker goes on without the
    member after the rebalance timeout (the session timeout, 10 s); the stuck batch,
    once done, is the partitions' new owners' to fetch again, and the member rejoins."""
    group = await new_group(partitions=2)
    flow = group.flow
    flow.held = 5
    first = group.consumer(LONG_INTERVAL_SECONDS)
    second = group.consumer(LONG_INTERVAL_SECONDS)
    await first.start()
    try:
        await flow.send(10)
        await _until(lambda: flow.holding, "the first member's batch stuck")
        await asyncio.wait_for(second.start(), 25)
        await _until(lambda: second.assignment() != set(), "the second given a partition", 25)
        assert flow.holding, "the rebalance went on while the batch was still stuck"
        flow.release.set()
        await flow.send(10)
        await _until(lambda: set(flow.handled) == set(range(20)), "every tick handled")
        assert first.running
        assert second.running
    finally:
        flow.release.set()
        await asyncio.wait_for(second.stop(), 20)
        await asyncio.wait_for(first.stop(), 20)
    assert await group.committed() == 20
    assert not [r for r in caplog.records if r.getMessage() == "batch failed"]


async def test_a_failure_of_the_loop_itself_neither_ends_it_nor_skips_the_batch(
    new_group: NewGroup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault of the loop's own code (not an outage: those have their path) between a
    fetch and the batch's progress, three times running. The fetch has already moved
    past the batch."""
    group = await new_group()
    flow = group.flow
    consumer = group.consumer(0.3)
    handle_fetched = consumer._handle_fetched
    faults = 3  # one a second: the loop waits a second after each

    async def failing_three_times(*args: Any) -> bool:
        nonlocal faults
        if faults:
            faults -= 1
            raise RuntimeError("injected")
        return await handle_fetched(*args)

    monkeypatch.setattr(consumer, "_handle_fetched", failing_three_times)
    await consumer.start()
    try:
        await flow.send(5)
        # While the fault repeats, readiness sees a stall.
        await _until(lambda: consumer.stalled_seconds() > 1.0, "a stall reported", 5)
        await _until(lambda: len(flow.handled) == 5, "the batch handled after the faults")
        assert faults == 0
        assert consumer.running
        await flow.send(5)
        await _until(lambda: len(flow.handled) == 10, "the next records handled")
        await _until(lambda: _at_least(group.committed(), 10), "all committed")
    finally:
        await asyncio.wait_for(consumer.stop(), 20)
    assert sorted(flow.handled) == list(range(10))


async def _second_member_joins_and_leaves(group: Group, *, linger: float = 0.0) -> None:
    """A second member joins while records flow, then leaves: each rebalance takes
    partitions with handled, uncommitted records on them away from a member."""
    flow = group.flow

    def consumer() -> EventConsumer:
        return group.consumer(LONG_INTERVAL_SECONDS, linger)

    def duplicates() -> float:
        labels = {"topic": group.tick.topic.name, "outcome": "duplicate"}
        return REGISTRY.get_sample_value("events_consumed_total", labels) or 0.0

    first, second = consumer(), consumer()
    await first.start()
    flow.start()
    try:
        await _until(lambda: len(flow.handled) >= 20, "20 ticks handled by the first")
        assert await group.committed() == 0
        # Joining waits for the rebalance: bounded, so that one that never ends fails.
        await asyncio.wait_for(second.start(), 20)
        await _until(lambda: second.assignment() != set(), "the second member given a partition")
        handled_then = len(flow.handled)
        await _until(lambda: len(flow.handled) >= handled_then + 20, "20 more ticks")
    finally:
        await flow.stop()
        await asyncio.wait_for(second.stop(), 20)
        await asyncio.wait_for(first.stop(), 20)
    # Each new owner started where the last left off: nothing fetched and skipped again.
    assert duplicates() == 0
    assert sorted(flow.handled) == list(range(flow.sent))
    assert await group.committed() == flow.sent


async def _value(result: bool | Awaitable[bool]) -> bool:
    return await result if inspect.isawaitable(result) else bool(result)


async def _at_least(count: Awaitable[int], expected: int) -> bool:
    return await count >= expected
