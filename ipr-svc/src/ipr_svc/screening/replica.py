"""The active records of this replica, held in memory: every replica reads the whole
compacted records topic from its beginning (no consumer group: each needs every record),
then follows it, so all screen against the same set without touching the database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from customs_shared.app import Runtime
from customs_shared.db import utcnow
from customs_shared.events import catalog
from customs_shared.events.envelope import RawCloudEvent
from customs_shared.events.schemas import IprRecordState
from customs_shared.messaging.follower import FollowerProgress, FollowerStalled
from customs_shared.messaging.kafka import Producer, new_follower
from customs_shared.metrics import FOLLOWER_RESTARTS
from ipr_svc.screening.index import ActiveRecord, RecordIndex

log = logging.getLogger(__name__)


def active_record(state: IprRecordState) -> ActiveRecord:
    return ActiveRecord(
        record_id=state.record_id,
        holder=state.holder,
        brands=tuple(state.brands),
        hs_headings=frozenset(state.hs_headings),
        authorised=frozenset(state.authorised_importers),
        offices=frozenset(state.offices),
        valid_until=state.valid_until,
    )


class ActiveSet:
    """The index and whether it has caught up with the topic as it stood at start."""

    def __init__(self) -> None:
        self.index = RecordIndex()
        self.ready = asyncio.Event()

    def reset(self) -> None:
        self.index = RecordIndex()
        self.ready.clear()

    def apply(self, state: IprRecordState, now: datetime) -> None:
        # A record not yet valid is held already: its validity starts within days, and
        # nothing would bring it in later; one past its validity is dropped.
        if state.status == "active" and state.valid_until > now:
            self.index.put(active_record(state))
        else:
            self.index.remove(state.record_id)

    def apply_raw(self, value: bytes | None) -> None:
        try:
            raw = RawCloudEvent.model_validate_json(value or b"")
            if raw.type != catalog.IPR_RECORD_CHANGED.name:
                return
            self.apply(IprRecordState.model_validate(raw.data), utcnow())
        except ValidationError:
            log.exception("unreadable record state skipped")

    async def check_caught_up(self) -> None:
        """A readiness check: a replica that has not replayed the records topic would
        screen against an incomplete set."""
        if not self.ready.is_set():
            raise RuntimeError("ipr records index not caught up with the topic yet")

    async def caught_up(self) -> RecordIndex:
        """The index once caught up; callers bound the wait (``asyncio.timeout``)."""
        await self.ready.wait()
        return self.index


# One per process: the consumer's handlers and the topic follower share it.
ACTIVE = ActiveSet()


async def partitions_of(producer: Producer, topic: str) -> list[TopicPartition]:
    """The topic's partitions, from the producer's metadata (it waits for the topic)."""
    return [TopicPartition(topic, p) for p in sorted(await producer.partitions_for(topic))]


async def follow(
    consumer: AIOKafkaConsumer,
    active: ActiveSet,
    partitions: list[TopicPartition],
    *,
    stall_seconds: float,
) -> None:
    """Replays the partitions into ``active``, marks it ready once caught up, then follows.
    Raises FollowerStalled when it stays behind the topic's end without moving for
    ``stall_seconds``: screening would go on against records that no longer hold."""
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    progress = FollowerProgress(consumer, stall_seconds=stall_seconds)
    while True:
        if not active.ready.is_set() and await progress.reached_start_ends():
            log.info("ipr records index ready", extra={"count": len(active.index)})
            active.ready.set()
        batch = await consumer.getmany(timeout_ms=1000, max_records=1000)
        for records in batch.values():
            for record in records:
                active.apply_raw(record.value)
        await progress.check_moving()


@contextlib.asynccontextmanager
async def records_feed(runtime: Runtime[Any]) -> AsyncIterator[None]:
    async def forever() -> None:
        while True:  # a broken connection starts the replay again, into a fresh index
            consumer = new_follower(runtime.settings.kafka_bootstrap)
            try:
                await consumer.start()
                partitions = await partitions_of(runtime.producer, catalog.IPR_RECORDS.name)
                await follow(
                    consumer,
                    ACTIVE,
                    partitions,
                    stall_seconds=runtime.settings.consumer_stall_seconds,
                )
            except asyncio.CancelledError:
                raise
            except FollowerStalled as exc:
                FOLLOWER_RESTARTS.labels("ipr-records").inc()
                log.warning("ipr records feed stalled; replaying", extra={"error": str(exc)})
                ACTIVE.reset()
            except Exception:
                log.exception("ipr records feed failed; replaying")
                ACTIVE.reset()
                await asyncio.sleep(1)
            finally:
                await consumer.stop()

    task = asyncio.create_task(forever(), name="ipr-records-feed")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
