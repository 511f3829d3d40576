"""The process's producer after Kafka refuses a record for good, on the real broker."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.errors import MessageSizeTooLargeError
from prometheus_client import REGISTRY

from customs_shared.messaging.kafka import new_producer
from tests.support.topics import create_topic, read_topic

pytestmark = pytest.mark.integration

# Under the producer's own request limit (1 MiB), over the topic's: the broker refuses it.
TOPIC_LIMIT_BYTES = 1_000
OVER_THE_TOPIC_LIMIT = b"x" * 5_000


def _renewals() -> float:
    return REGISTRY.get_sample_value("kafka_producer_renewals_total") or 0.0


async def _small_topic(bootstrap: str) -> str:
    topic = await create_topic(
        bootstrap, "test.small-records", configs={"max.message.bytes": str(TOPIC_LIMIT_BYTES)}
    )
    return topic.name


async def test_a_record_refused_for_good_does_not_stop_its_partition(kafka_bootstrap: str) -> None:
    """aiokafka never takes back the sequence number of a batch the broker refused, so
    without the renewal every later record of the partition is refused as out of order
    (OutOfOrderSequenceNumber), for as long as the process runs."""
    topic = await _small_topic(kafka_bootstrap)
    renewals = _renewals()
    producer = new_producer(kafka_bootstrap, "test")
    await producer.start()
    try:
        before = await producer.send_and_wait(topic, b"before", key=b"k")
        with pytest.raises(MessageSizeTooLargeError):
            await producer.send_and_wait(topic, OVER_THE_TOPIC_LIMIT, key=b"k")
        after = [await producer.send_and_wait(topic, b"after", key=b"k") for _ in range(3)]
    finally:
        await producer.stop()

    assert [a.offset for a in after] == [before.offset + 1, before.offset + 2, before.offset + 3]
    assert _renewals() == renewals + 1
    records = await asyncio.to_thread(read_topic, kafka_bootstrap, topic)
    assert [r.value for r in records] == [b"before", b"after", b"after", b"after"]


async def test_records_in_flight_with_the_refused_one_are_sent_again_by_their_caller(
    kafka_bootstrap: str,
) -> None:
    """Records queued behind the refused one on the old producer fail with it (out of
    sequence); sent again, as the outbox relay does on its next pass, they go through."""
    topic = await _small_topic(kafka_bootstrap)
    producer = new_producer(kafka_bootstrap, "test")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"first", key=b"k")
        refused = await producer.send(topic, OVER_THE_TOPIC_LIMIT, key=b"k")
        behind = [await producer.send(topic, f"behind-{i}".encode(), key=b"k") for i in range(3)]
        outcomes = await asyncio.gather(refused, *behind, return_exceptions=True)
        assert isinstance(outcomes[0], MessageSizeTooLargeError)
        unsent = [
            f"behind-{i}".encode() for i, o in enumerate(outcomes[1:]) if isinstance(o, Exception)
        ]
        for value in unsent:
            await producer.send_and_wait(topic, value, key=b"k")
    finally:
        await producer.stop()

    records = await asyncio.to_thread(read_topic, kafka_bootstrap, topic)
    values = [r.value for r in records]
    assert values[0] == b"first"
    assert sorted(set(values[1:])) == [b"behind-0", b"behind-1", b"behind-2"]
