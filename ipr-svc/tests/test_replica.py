"""A replica's in-memory index follows the compacted records topic on a real Kafka: the
topic as it stood is replayed before the index is ready, later changes follow."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import pytest

from customs_shared.events import catalog
from customs_shared.events.envelope import new_event
from customs_shared.events.schemas import IprRecordState
from customs_shared.messaging.follower import FollowerStalled
from customs_shared.messaging.kafka import new_follower, new_producer
from ipr_svc.screening.replica import ActiveSet, follow, partitions_of
from tests.support.ipr_labelled import CASES
from tests.support.topics import create_topic

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


def record(record_id: str, status: str = "active", brands: tuple[str, ...] = ("Nike",)) -> bytes:
    data = IprRecordState(
        record_id=record_id,
        registration_number=f"VN-{record_id}",
        right_type="trademark",
        holder="0100109106",
        brands=list(brands),
        hs_headings=["6404"],
        authorised_importers=[],
        offices=[],
        valid_from=NOW - timedelta(days=1),
        valid_until=NOW + timedelta(days=365),
        status=status,
    )
    return new_event(
        event_type=catalog.IPR_RECORD_CHANGED.name,
        source="/test",
        subject=record_id,
        data=data,
    ).to_json()


async def fresh_topic(bootstrap: str) -> str:
    topic = await create_topic(
        bootstrap, "test.ipr-records", partitions=2, configs={"cleanup.policy": "compact"}
    )
    return topic.name


def test_unreadable_records_are_skipped_and_the_index_goes_on() -> None:
    # Every replica reads the whole topic, so a record it cannot read is logged and
    # skipped (a DLQ copy per replica would only multiply it); the owner wrote it.
    active = ActiveSet()
    wrong_type = record("x").replace(catalog.IPR_RECORD_CHANGED.name.encode(), b"customs.nobody.v1")
    bad_data = record("r0").replace(b'"status":"active"', b'"status":["active"]')
    for poison in (b"\x00{nope", b'{"a": 1}', wrong_type, bad_data, None):
        active.apply_raw(poison)
    assert len(active.index) == 0
    active.apply_raw(record("r1"))
    assert len(active.index) == 1


async def test_the_index_is_ready_after_the_replay_and_follows_changes(
    kafka_bootstrap: str,
) -> None:
    topic = await fresh_topic(kafka_bootstrap)
    producer = new_producer(kafka_bootstrap, "test")
    await producer.start()
    try:
        for key, value in [
            ("r1", record("r1")),
            ("r2", record("r2", brands=("Adidas",))),
            ("r2", record("r2", status="revoked")),
        ]:
            await producer.send_and_wait(topic, value=value, key=key.encode())
        active = ActiveSet()
        with pytest.raises(RuntimeError, match="not caught up"):
            await active.check_caught_up()  # /readyz fails until the replay is done
        consumer = new_follower(kafka_bootstrap)
        await consumer.start()
        partitions = await partitions_of(producer, topic)
        task = asyncio.create_task(follow(consumer, active, partitions, stall_seconds=60))
        try:
            async with asyncio.timeout(30):
                index = await active.caught_up()
            assert len(index) == 1  # r2 was revoked before this replica started
            await active.check_caught_up()
            nike = next(c for c in CASES if c.brand == "N1KE")
            assert [
                m.record.record_id for m in index.match([nike.item()], office="x", importer=None)
            ] == ["r1"]

            await producer.send_and_wait(topic, value=record("r1", "expired"), key=b"r1")
            for _ in range(100):
                if not len(active.index):
                    break
                await asyncio.sleep(0.1)
            assert len(active.index) == 0
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await consumer.stop()
    finally:
        await producer.stop()


async def test_a_replica_whose_fetches_stop_without_an_error_gives_up_on_its_index(
    kafka_bootstrap: str,
) -> None:
    """Its fetches paused (they stop, with no error) while a record changes: ``follow``
    raises FollowerStalled once the stall period is over, and the feed replays (below)."""
    topic = await fresh_topic(kafka_bootstrap)
    producer = new_producer(kafka_bootstrap, "test")
    await producer.start()
    consumer = new_follower(kafka_bootstrap)
    await consumer.start()
    await producer.send_and_wait(topic, value=record("r1"), key=b"r1")
    active = ActiveSet()
    partitions = await partitions_of(producer, topic)
    task = asyncio.create_task(follow(consumer, active, partitions, stall_seconds=1.0))
    try:
        async with asyncio.timeout(30):
            await active.caught_up()
        consumer.pause(*partitions)
        await producer.send_and_wait(topic, value=record("r1", "revoked"), key=b"r1")
        with pytest.raises(FollowerStalled, match="has stayed at offset"):
            async with asyncio.timeout(10):
                await asyncio.shield(task)
        assert len(active.index) == 1  # the revocation never arrived
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await consumer.stop()
        await producer.stop()


async def test_a_replay_after_a_broken_connection_makes_the_replica_unready() -> None:
    active = ActiveSet()
    active.ready.set()
    await active.check_caught_up()
    active.reset()
    with pytest.raises(RuntimeError, match="not caught up"):
        await active.check_caught_up()
