"""Topics as they stand: what services published, raw records sent, consumer positions."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from customs_shared.events.catalog import Topic


@dataclass(frozen=True)
class Record:
    key: str | None
    value: bytes
    headers: dict[str, str]

    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.value))


async def _partitions(bootstrap: str, topic: str) -> list[TopicPartition]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        return [TopicPartition(topic, p) for p in await producer.partitions_for(topic)]
    finally:
        await producer.stop()


async def _read_all(bootstrap: str, topic: str) -> list[Record]:
    partitions = await _partitions(bootstrap, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        records: list[Record] = []
        remaining = {tp for tp in partitions if end[tp] > 0}
        while remaining:
            batch = await consumer.getmany(timeout_ms=1000)
            for tp, items in batch.items():
                for item in items:
                    records.append(
                        Record(
                            item.key.decode() if item.key else None,
                            item.value or b"",
                            {k: v.decode() for k, v in item.headers},
                        )
                    )
                    if item.offset + 1 >= end[tp]:
                        remaining.discard(tp)
        return records
    finally:
        await consumer.stop()


def read_topic(bootstrap: str, topic: str) -> list[Record]:
    return asyncio.run(_read_all(bootstrap, topic))


async def _produce(bootstrap: str, topic: str, key: bytes, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value=value, key=key)
    finally:
        await producer.stop()


def produce_raw(bootstrap: str, topic: str, key: bytes, value: bytes) -> None:
    asyncio.run(_produce(bootstrap, topic, key, value))


async def _produce_all(bootstrap: str, records: list[tuple[str, bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        sent = [await producer.send(topic, value=value, key=key) for topic, key, value in records]
        for delivery in sent:
            await delivery
    finally:
        await producer.stop()


def produce_all(bootstrap: str, records: list[tuple[str, bytes, bytes]]) -> None:
    """Sends every (topic, key, value) with one producer and waits for all the acks."""
    asyncio.run(_produce_all(bootstrap, records))


async def _end_offsets(bootstrap: str, topics: list[str]) -> dict[TopicPartition, int]:
    partitions = [tp for topic in topics for tp in await _partitions(bootstrap, topic)]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


def end_offsets(bootstrap: str, topics: list[str]) -> dict[TopicPartition, int]:
    """Where each partition of ``topics`` ends now."""
    return asyncio.run(_end_offsets(bootstrap, topics))


async def _committed(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
        return {tp: meta.offset for tp, meta in offsets.items()}
    finally:
        await admin.close()


def committed_offsets(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    """The offsets consumer group ``group`` has committed, by partition."""
    return asyncio.run(_committed(bootstrap, group))


async def create_topic(
    bootstrap: str, prefix: str, *, partitions: int = 1, configs: dict[str, str] | None = None
) -> Topic:
    """A fresh topic of its own (with ``configs``), and its DLQ, named ``<prefix>.<random>``."""
    topic = Topic(f"{prefix}.{uuid.uuid4().hex[:8]}", "n", "test")
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(
                    name,
                    num_partitions=partitions,
                    replication_factor=1,
                    topic_configs=(configs or {}) if name == topic.name else {},
                )
                for name in (topic.name, topic.dlq)
            ]
        )
    finally:
        await admin.close()
    return topic
