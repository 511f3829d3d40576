"""A reader outside any group, on a real Kafka: caught up once it has read what its topic
held when first asked; stalled when it stays behind without moving (its fetches paused,
which stops them without an error), never while it reads along or the topic is quiet."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from customs_shared.messaging.follower import FollowerProgress, FollowerStalled
from customs_shared.messaging.kafka import Producer, new_follower
from tests.support.topics import create_topic

pytestmark = pytest.mark.integration

STALL_SECONDS = 1.0


async def _send(producer: Producer, topic: str, count: int) -> None:
    for n in range(count):
        await producer.send_and_wait(topic, value=f"record {n}".encode(), key=b"k")


async def _reading(consumer: AIOKafkaConsumer, progress: FollowerProgress, seconds: float) -> int:
    """Fetches and checks as a reader's loop does, for ``seconds``; the records read."""
    read = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        batches = await consumer.getmany(timeout_ms=100)
        read += sum(len(records) for records in batches.values())
        await progress.check_moving()
    return read


async def _follower(bootstrap: str, partitions: list[TopicPartition]) -> AIOKafkaConsumer:
    consumer = new_follower(bootstrap)
    await consumer.start()
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    return consumer


async def test_a_reader_is_caught_up_with_the_topic_as_it_stood_when_first_asked(
    kafka_bootstrap: str, producer: Producer
) -> None:
    topic = (await create_topic(kafka_bootstrap, "test.follower", partitions=2)).name
    partitions = [TopicPartition(topic, p) for p in (0, 1)]
    consumer = await _follower(kafka_bootstrap, partitions)
    try:
        await _send(producer, topic, 5)
        progress = FollowerProgress(consumer, stall_seconds=STALL_SECONDS)
        assert not await progress.reached_start_ends()  # five records not read yet
        await _send(producer, topic, 3)  # after the first ask: not waited for
        read = 0
        while read < 5:
            batches = await consumer.getmany(timeout_ms=1000)
            read += sum(len(records) for records in batches.values())
        assert await progress.reached_start_ends()
    finally:
        await consumer.stop()


async def test_a_reader_whose_fetches_stop_is_stalled_and_one_that_reads_along_is_not(
    kafka_bootstrap: str, producer: Producer
) -> None:
    topic = (await create_topic(kafka_bootstrap, "test.follower", partitions=1)).name
    partition = TopicPartition(topic, 0)
    consumer = await _follower(kafka_bootstrap, [partition])
    try:
        progress = FollowerProgress(consumer, stall_seconds=STALL_SECONDS)
        # Reading along while records keep coming, for three stall periods: never stalled.
        sending = asyncio.create_task(_send_slowly(producer, topic, seconds=3 * STALL_SECONDS))
        read = await _reading(consumer, progress, 3 * STALL_SECONDS)
        await sending
        read += await _reading(consumer, progress, 0.5)
        assert read == await consumer.position(partition) > 10
        # Quiet and caught up, for three stall periods: never stalled either.
        assert await _reading(consumer, progress, 3 * STALL_SECONDS) == 0

        consumer.pause(partition)  # its fetches stop, without an error
        await _send(producer, topic, 3)
        paused = time.monotonic()
        with pytest.raises(FollowerStalled, match=rf"{topic}\[0\] has stayed at offset {read}"):
            await _reading(consumer, progress, 6 * STALL_SECONDS)
        noticed = time.monotonic() - paused
        assert STALL_SECONDS <= noticed < 3 * STALL_SECONDS
    finally:
        await consumer.stop()


async def _send_slowly(producer: Producer, topic: str, *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await _send(producer, topic, 1)
        await asyncio.sleep(0.1)
