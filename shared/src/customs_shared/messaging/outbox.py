"""Transactional outbox: events are rows written with the business change, and a
relay publishes them with the idempotent producer. No event without its data, no
data without its event."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import datetime

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from customs_shared import tracing
from customs_shared.db import (
    drop_queued_rows,
    insert_values_at_commit,
    utcnow,
    write_queued_rows,
)
from customs_shared.events.catalog import Data, EventType
from customs_shared.events.envelope import CloudEvent, new_event
from customs_shared.health import NotReady
from customs_shared.messaging import repository
from customs_shared.messaging.kafka import MAX_EVENT_BYTES, Producer
from customs_shared.messaging.models import OutboxEvent
from customs_shared.metrics import (
    EVENTS_PUBLISHED,
    OUTBOX_OLDEST_UNPUBLISHED_AGE,
    OUTBOX_PENDING,
)
from customs_shared.problems import PayloadTooLarge

log = logging.getLogger(__name__)

_DIRTY = "outbox_dirty"
_CONTENT_TYPE = ("content-type", b"application/cloudevents+json")
_COALESCE_SECONDS = 0.005


def add_event(
    session: AsyncSession,
    event_type: EventType[Data],
    *,
    source: str,
    key: str,
    data: Data,
    event_id: uuid.UUID | None = None,
) -> CloudEvent[Data]:
    """Queues an event in the caller's transaction; it is published after commit."""
    if not isinstance(data, event_type.data):
        raise TypeError(f"{event_type.name} carries {event_type.data.__name__}")
    envelope = new_event(
        event_type=event_type.name, source=source, subject=key, data=data, event_id=event_id
    )
    payload = envelope.to_json()
    if len(payload) > MAX_EVENT_BYTES:
        # Kafka would refuse it on every pass, and the relay would publish nothing after it.
        raise EventTooLarge(
            f"This would publish a {event_type.name} event of {len(payload):,} bytes, over "
            f"the {MAX_EVENT_BYTES:,} bytes a Kafka record carries here. Nothing was "
            "accepted: send fewer items or shorter texts."
        )
    # Values, not an OutboxEvent: the row is never read back here, and an ORM object's
    # instrumented construction cost more than the rest of queuing it.
    insert_values_at_commit(
        session,
        OutboxEvent,
        [
            {
                "event_id": uuid.UUID(envelope.id),
                "topic": event_type.topic.name,
                "key": key,
                "payload": payload,
            }
        ],
    )
    session.info[_DIRTY] = True
    return envelope


class EventTooLarge(PayloadTooLarge):
    """A change whose event Kafka could not carry: refused with it, before anything is
    stored, instead of an outbox row that no relay pass could ever publish."""


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        producer: Producer,
        signal: OutboxSignal,
        *,
        poll_seconds: float,
        batch_size: int,
    ) -> None:
        self._engine = engine
        self._producer = producer
        self._poll_seconds = poll_seconds
        self._batch_size = batch_size
        self._wake = signal.event
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Creation time of the oldest row claimed and not yet published: set when a pass
        # claims rows, cleared when it publishes them, left as it is when Kafka refuses.
        self._oldest_unpublished: datetime | None = None
        OUTBOX_OLDEST_UNPUBLISHED_AGE.set_function(self.oldest_unpublished_age)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    def oldest_unpublished_age(self) -> float:
        """Seconds the oldest claimed row has waited; 0 when nothing is held up."""
        oldest = self._oldest_unpublished
        return 0.0 if oldest is None else max(0.0, (utcnow() - oldest).total_seconds())

    async def check_backlog(self, limit_seconds: float) -> None:
        """Readiness: events are leaving. A relay that cannot publish (the broker down,
        its disk full) otherwise looks healthy while the outbox grows."""
        age = self.oldest_unpublished_age()
        if age > limit_seconds:
            raise NotReady(
                f"outbox stuck: oldest unpublished event is {age:.0f} s old "
                f"(limit {limit_seconds:g} s); the relay cannot publish to Kafka"
            )

    async def stop(self) -> None:
        """Publishes what is already committed, then stops."""
        self._stop.set()
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            while await self.publish_batch() == self._batch_size:
                pass

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                published = await self.publish_batch()
            except Exception:  # broker or DB hiccup: the rows stay, the next pass retries
                log.exception("outbox relay pass failed")
                published = 0
                await asyncio.sleep(self._poll_seconds)
            if published == self._batch_size:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)
                # Under load commits come every few milliseconds: a short pause lets the
                # next pass publish the rows of several of them (a claim, an update and a
                # commit for all) instead of one pass each.
                await asyncio.sleep(_COALESCE_SECONDS)
            self._wake.clear()

    async def publish_batch(self) -> int:
        async with repository.claimed_for_publishing(self._engine, self._batch_size) as rows:
            if not rows:
                OUTBOX_PENDING.set(0)
                self._oldest_unpublished = None
                return 0
            if self._oldest_unpublished is None or rows[0].created_at < self._oldest_unpublished:
                self._oldest_unpublished = rows[0].created_at
            # At least these wait; the exact count costs a query (below, on a full batch).
            OUTBOX_PENDING.set(len(rows))
            sent = []
            for row in rows:
                with tracing.publish_span(row.topic, row.payload) as trace_headers:
                    sent.append(
                        await self._producer.send(
                            row.topic,
                            value=row.payload,
                            key=row.key.encode(),
                            headers=[_CONTENT_TYPE, *trace_headers],
                        )
                    )
            await asyncio.gather(*sent)
        # Committed: the rows are published for good.
        self._oldest_unpublished = None
        for row in rows:
            EVENTS_PUBLISHED.labels(row.topic).inc()
        # Counting costs a query, so only when a full batch hints at a backlog.
        if len(rows) == self._batch_size:
            async with self._engine.connect() as connection:
                OUTBOX_PENDING.set(await repository.count_unpublished(connection))
        else:
            OUTBOX_PENDING.set(0)
        return len(rows)


def _write_queued_rows_at_flush(session: Session, _context: object, _instances: object) -> None:
    write_queued_rows(session)


class OutboxSignal:
    """Wakes the relay when a commit wrote outbox rows, so events leave within
    milliseconds instead of one poll interval."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    def notify(self) -> None:
        self.event.set()


def session_factory(engine: AsyncEngine, signal: OutboxSignal) -> async_sessionmaker[AsyncSession]:
    """The service's one session factory; its commits notify ``signal``."""

    class _NotifyingSession(Session):
        pass

    def after_commit(session: Session) -> None:
        if session.info.pop(_DIRTY, False):
            signal.notify()

    def after_soft_rollback(session: Session, _previous: object) -> None:
        session.info.pop(_DIRTY, None)
        drop_queued_rows(session)

    event.listen(_NotifyingSession, "before_commit", write_queued_rows)
    # An explicit flush writes them too: a read after it in the transaction sees them.
    event.listen(_NotifyingSession, "before_flush", _write_queued_rows_at_flush)
    event.listen(_NotifyingSession, "after_commit", after_commit)
    event.listen(_NotifyingSession, "after_soft_rollback", after_soft_rollback)
    return async_sessionmaker(
        engine, expire_on_commit=False, autoflush=False, sync_session_class=_NotifyingSession
    )
