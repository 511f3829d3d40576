"""The consumer loop every service uses.

Per fetch (every partition it returned): decode each CloudEvent; in one transaction, skip
the ids this consumer already handled and run the handlers, recording the ids.
Offsets are committed at most once per commit interval (and when the loop goes idle,
stops or loses a partition): at a few events per fetch, a commit per fetch cost the
consumer and the broker as much as the events did, and what a crash redelivers is
skipped by the recorded ids. A record that cannot be decoded, or whose handler keeps
failing after retries, goes to the topic's DLQ with the error, and the loop goes
on; an outage of the database keeps the records until it ends."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Generic

from aiokafka import (
    AIOKafkaConsumer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.errors import MessageSizeTooLargeError
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared import tracing
from customs_shared.context import adopt_traceparent, request_id_var
from customs_shared.db import write_queued
from customs_shared.events.catalog import EVENT_TYPES, Data, EventType
from customs_shared.events.envelope import RawCloudEvent
from customs_shared.health import NotReady
from customs_shared.messaging import repository
from customs_shared.messaging.kafka import (
    FETCH_MAX_WAIT_MS,
    FETCH_MIN_BYTES,
    Producer,
    new_consumer,
)
from customs_shared.metrics import (
    CONSUMER_LAG,
    CONSUMER_RENEWALS,
    CONSUMER_STALLED,
    EVENT_HANDLING_LATENCY,
    EVENTS_CONSUMED,
)
from customs_shared.outage import is_outage

log = logging.getLogger(__name__)

# A member whose every fetch has failed this long is replaced (EventConsumer._renew).
RENEW_AFTER_SECONDS = 30.0
# A consumer with records waiting and none handled this long is reported stalled
# (EventConsumer.check_progress); a reader outside any group left behind this long without
# moving starts again (customs_shared.messaging.follower).
STALL_SECONDS = 60.0


Prepare = Callable[[AsyncSession, Sequence[Data]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Subscription(Generic[Data]):
    """Binds a handler to an event type. The handler takes the transaction and the
    event's decoded ``data``, of the very model the event type names (mypy checks
    it); it may write outbox events in that same transaction."""

    event_type: EventType[Data]
    handler: Callable[[AsyncSession, Data], Awaitable[None]]
    # Runs once per fetched batch, before its handlers, with the data of all of the
    # batch's new events of the types that name it: the place to load or lock, in one
    # statement, the rows the handlers then take one by one (customs_shared.db.lock_all).
    prepare: Prepare[Data] | None = None


class PermanentError(Exception):
    """The record can never be handled (bad data); retrying is pointless."""


class _Unfinished(Exception):
    """An outage stopped a fetch's records at ``index``; the records before it are done."""

    def __init__(self, index: int) -> None:
        super().__init__(f"unfinished at record {index} of the fetch")
        self.index = index


@dataclass(frozen=True, slots=True)
class _Poison:
    record: ConsumerRecord[bytes, bytes]
    error: str


_current_event: ContextVar[RawCloudEvent | None] = ContextVar("current_event", default=None)


@contextlib.contextmanager
def handling(event: RawCloudEvent) -> Iterator[None]:
    """Makes ``event`` the one :func:`current_event` returns inside the block."""
    token = _current_event.set(event)
    try:
        yield
    finally:
        _current_event.reset(token)


def current_event() -> RawCloudEvent:
    """The envelope of the event a handler is handling (its id, source, type), for a
    handler that reports back on it."""
    event = _current_event.get()
    if event is None:
        raise RuntimeError("current_event() is only known inside an event handler")
    return event


async def _prepare(session: AsyncSession, events: Sequence[_Event], fresh: set[str]) -> None:
    """Calls each prepare step once, with the data of its events the batch will handle
    (``fresh``: new to this consumer; each once), in their order."""
    batches: dict[Prepare[Any], list[Any]] = {}
    taken: set[str] = set()
    for event in events:
        if event.prepare is not None and event.raw.id in fresh and event.raw.id not in taken:
            taken.add(event.raw.id)
            batches.setdefault(event.prepare, []).append(event.data)
    for prepare, data in batches.items():
        await prepare(session, data)


@dataclass(frozen=True, slots=True)
class _Event:
    record: ConsumerRecord[bytes, bytes]
    raw: RawCloudEvent
    handler: Callable[[AsyncSession, Any], Awaitable[None]]
    data: Any
    prepare: Prepare[Any] | None


class EventConsumer:
    def __init__(
        self,
        *,
        group_id: str,
        bootstrap: str,
        sessions: async_sessionmaker[AsyncSession],
        producer: Producer,
        subscriptions: Sequence[Subscription[Any]],
        max_retries: int,
        retry_backoff_seconds: float,
        commit_interval_seconds: float,
        linger_seconds: float,
        fetch_min_bytes: int = FETCH_MIN_BYTES,
        fetch_max_wait_ms: int = FETCH_MAX_WAIT_MS,
        renew_after_seconds: float = RENEW_AFTER_SECONDS,
    ) -> None:
        self._group_id = group_id
        self._sessions = sessions
        self._producer = producer
        self._handlers = {
            s.event_type.name: (s.event_type, s.handler, s.prepare) for s in subscriptions
        }
        self._topics = sorted({s.event_type.topic.name for s in subscriptions})
        # A type the catalog puts on the topic is someone else's to handle; any other is
        # poison (a producer's mistake, or a hostile record), not something to skip quietly.
        self._known_types = {
            (t.topic.name, t.name) for t in (*EVENT_TYPES, *(s.event_type for s in subscriptions))
        }
        self._new_consumer = functools.partial(
            new_consumer,
            bootstrap,
            group_id,
            self._topics,
            _CommitOnRevoke(self),
            fetch_min_bytes=fetch_min_bytes,
            fetch_max_wait_ms=fetch_max_wait_ms,
        )
        self._consumer: AIOKafkaConsumer = self._new_consumer()
        self._renew_after = renew_after_seconds
        self._commit_interval = commit_interval_seconds
        self._linger = linger_seconds
        # Offsets handled and not yet committed, and since when the oldest has waited.
        self._uncommitted: dict[TopicPartition, int] = {}
        self._uncommitted_since = 0.0
        self._max_retries = max_retries
        self._backoff = retry_backoff_seconds
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lag_reported: set[TopicPartition] = set()
        # Progress: a batch handled, or an empty fetch with nothing waiting. A loop with a
        # batch in hand, or lag, and no progress for long is stalled (see stalled_seconds).
        self._lag: dict[TopicPartition, int] = {}
        # Clear from a fetch's return until its records are handled and their offsets
        # recorded: a rebalance waits for it (see _CommitOnRevoke).
        self._between_batches = asyncio.Event()
        self._between_batches.set()
        self._revocations = 0
        self._progressed_at = time.monotonic()
        # Since when every fetch has failed, and the last failure: a broker that is down
        # makes fetches wait, not fail, so fetches that keep failing are a consumer that
        # no longer works (see stalled_seconds).
        self._failing_since: float | None = None
        self._failure = ""
        self._renewed_at = 0.0
        CONSUMER_STALLED.labels(group_id).set_function(self.stalled_seconds)

    async def start(self) -> None:
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self._group_id}")

    async def stop(self) -> None:
        """Finishes the batch in hand, commits what was handled, leaves the group."""
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def stalled_seconds(self) -> float:
        """How long records have waited without this loop handling any, or every fetch
        has failed; 0 while it keeps up or has nothing to do."""
        if self._failing_since is not None:
            return time.monotonic() - self._failing_since
        if self._between_batches.is_set() and not self._lagging():
            return 0.0
        return time.monotonic() - self._progressed_at

    def assignment(self) -> set[TopicPartition]:
        """The partitions this member of the group holds now."""
        return set(self._consumer.assignment())

    def _lagging(self) -> bool:
        # Only partitions still assigned: a rebalance may have taken the others.
        assigned = self.assignment()
        return any(lag for partition, lag in self._lag.items() if partition in assigned)

    async def check_progress(self, limit_seconds: float) -> None:
        """Readiness: the loop runs and moves. A handler blocked on a lock, or a database
        that fails every batch, leaves the loop alive but the records waiting."""
        if not self.running:
            raise NotReady("consumer loop stopped")
        stalled = self.stalled_seconds()
        if stalled > limit_seconds and self._failing_since is not None:
            raise NotReady(
                f"consumer {self._group_id} failing: every fetch for {stalled:.0f} s failed "
                f"(limit {limit_seconds:g} s), the last with {self._failure}"
            )
        if stalled > limit_seconds:
            raise NotReady(
                f"consumer {self._group_id} stalled: records waiting, none handled for "
                f"{stalled:.0f} s (limit {limit_seconds:g} s)"
            )

    async def _run(self) -> None:
        try:
            while not self._stop.is_set():
                await self._fetch_and_handle()
        finally:
            await self.commit_handled()

    async def _fetch_and_handle(self) -> None:
        try:
            batches = await self._consumer.getmany(timeout_ms=200, max_records=_FETCH_RECORDS)
        except Exception as error:
            log.exception("fetch failed", extra={"group": self._group_id})
            if self._failing_since is None:
                self._failing_since = time.monotonic()
            self._failure = repr(error)[:300]
            # Since the first failure, or the last replacement that did not mend it.
            if time.monotonic() - max(self._failing_since, self._renewed_at) >= self._renew_after:
                await self._renew()
            await asyncio.sleep(1.0)
            return
        self._failing_since = None
        if not batches:
            await self.commit_handled()  # idle: nothing to gain by waiting
            if not self._lagging():
                self._progressed_at = time.monotonic()  # idle and caught up
            return
        self._between_batches.clear()
        try:
            handled = await self._handle_fetched(batches)
        except Exception:
            # Not an outage (those are handled in there) but a failure of this loop's
            # own: the fetch has moved past the batch, so fetch it all again rather than
            # end the loop or skip records (what was handled is skipped by its ids). Its
            # lag is reported with it: a fault that repeats is a stall (readiness).
            log.exception("batch failed", extra={"group": self._group_id})
            self._advance(batches, [records[0] for records in batches.values()])
            handled = False
        finally:
            self._between_batches.set()
        if not handled:
            await asyncio.sleep(1.0)  # an outage (DB or DLQ) or a fault: retry from there
            return
        self._progressed_at = time.monotonic()
        if time.monotonic() - self._uncommitted_since >= self._commit_interval:
            await self.commit_handled()

    async def _handle_fetched(
        self, batches: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
    ) -> bool:
        """Handles a fetch's records and records each partition's progress; False when an
        outage left some unhandled (they are fetched again)."""
        fetched = sum(map(len, batches.values()))
        if self._linger and fetched < _FETCH_RECORDS:
            # A few records: wait a moment for the ones on their heels, so that one
            # transaction and one relay pass serve several events instead of one each.
            revocations = self._revocations
            await asyncio.sleep(self._linger)
            # A rebalance begun meanwhile holds back every fetch until it ends, and it
            # waits for this batch: go on with what is in hand.
            if self._revocations == revocations:
                room = _FETCH_RECORDS - fetched
                more = await self._consumer.getmany(timeout_ms=0, max_records=room)
                for partition, records in more.items():
                    batches.setdefault(partition, []).extend(records)
        if self._stop.is_set():
            return True  # fetched but not handled: not committed, so redelivered
        # Every partition's records in one transaction: the results of one declaration's
        # screenings arrive together on their topics, and are handled with one commit.
        # Handled in the order they were produced across partitions (each partition's own
        # order kept): a lane decided on a signature result comes after that result, as
        # the declaration's timeline shows them.
        records = list(heapq.merge(*batches.values(), key=lambda record: record.timestamp))
        try:
            await self._handle_batch(records)
        except Exception as exc:
            done = exc.index if isinstance(exc, _Unfinished) else 0
            log.exception("records left unhandled", extra={"handled": done, "of": len(records)})
            self._advance(batches, records[done:])
            await self.commit_handled()
            return False
        self._advance(batches, [])
        return True

    def _advance(
        self,
        batches: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]],
        unhandled: list[ConsumerRecord[bytes, bytes]],
    ) -> None:
        """Records each partition's progress up to its first record left ``unhandled``
        (to its end when none is), and fetches a partition with such a record again from
        there."""
        first_unhandled: dict[TopicPartition, int] = {}
        for record in unhandled:
            partition = TopicPartition(record.topic, record.partition)
            first_unhandled.setdefault(partition, record.offset)
        for partition, partition_records in batches.items():
            resume = first_unhandled.get(partition, partition_records[-1].offset + 1)
            if resume > partition_records[0].offset:
                self._handled(partition, resume)
            if partition in first_unhandled:
                self._consumer.seek(partition, resume)
            self._report_lag(partition, resume)

    def _handled(self, partition: TopicPartition, next_offset: int) -> None:
        if not self._uncommitted:
            self._uncommitted_since = time.monotonic()
        self._uncommitted[partition] = next_offset

    async def _renew(self) -> None:
        """Replaces the group's member whose every fetch has failed for long: aiokafka
        does not restart its coordination or its fetching once that task has died, so
        the member would fail every fetch until the process restarts. What it handled
        and had not committed is fetched again by the new member and skipped by its ids."""
        log.warning(
            "consumer renewed: every fetch failed",
            extra={"group": self._group_id, "error": self._failure},
        )
        broken, self._consumer = self._consumer, self._new_consumer()
        self._uncommitted.clear()
        self._lag.clear()
        self._lag_reported.clear()
        self._renewed_at = time.monotonic()
        with contextlib.suppress(Exception):  # it leaves the group as well as it still can
            await broken.stop()
        try:
            await self._consumer.start()
        except Exception:  # the broker unreachable: tried again after as long
            log.exception("renewed consumer did not start", extra={"group": self._group_id})
            return
        CONSUMER_RENEWALS.labels(self._group_id).inc()

    async def commit_handled(self, partitions: Collection[TopicPartition] | None = None) -> None:
        """Commits the handled offsets (of ``partitions`` only, when given), in one
        request."""
        chosen = set(self._uncommitted if partitions is None else partitions)
        offsets = {p: o for p, o in self._uncommitted.items() if p in chosen}
        if not offsets:
            return
        for partition in offsets:
            del self._uncommitted[partition]
        try:
            await self._consumer.commit(offsets)
        except Exception:  # a rebalance took a partition; its new owner redelivers, ids dedupe
            log.warning("offset commit failed", extra={"partitions": [str(p) for p in offsets]})

    async def commit_on_revoke(self, revoked: Collection[TopicPartition]) -> None:
        """Waits for the batch in hand, then commits what was handled of ``revoked``.
        The group waits for this member meanwhile, so the commit still counts: a batch
        handled after the revocation could no longer commit its offsets, and the
        partitions' new owners would fetch it all again."""
        self._revocations += 1
        await self._between_batches.wait()
        await self.commit_handled(revoked)

    def _report_lag(self, partition: TopicPartition, next_offset: int) -> None:
        # A partition taken away by a rebalance is its new owner's to report.
        assigned = self._consumer.assignment()
        highwater = self._consumer.highwater(partition) if partition in assigned else None
        if highwater is not None:
            self._lag[partition] = max(0, highwater - next_offset)
            CONSUMER_LAG.labels(partition.topic, str(partition.partition)).set(self._lag[partition])
        for gone in self._lag_reported - assigned:
            self._lag.pop(gone, None)
            with contextlib.suppress(KeyError):
                CONSUMER_LAG.remove(gone.topic, str(gone.partition))
        self._lag_reported = {*self._lag_reported, partition} & assigned

    async def _handle_batch(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        """All of a fetch's records in one transaction: one commit instead of one per
        record. If any handler fails, that transaction is rolled back and the records are
        handled one by one, in order, each with its own retries."""
        started = time.perf_counter()
        decoded = [item for record in records if (item := self._decode(record)) is not None]
        events = [item for item in decoded if isinstance(item, _Event)]
        outcomes: list[str] = []
        try:
            async with self._sessions() as session, session.begin():
                fresh = await repository.remember_all_processed(
                    session, self._group_id, [event.raw.id for event in events]
                )
                await _prepare(session, events, fresh)
                for event in events:
                    outcomes.append(await self._apply(session, event, fresh))
                await write_queued(session, at_commit=True)
        except Exception:
            log.info("batch failed; handling its records one by one", extra={"size": len(events)})
            for item in decoded:
                try:
                    await self._handle_alone(item)
                except Exception as exc:
                    raise _Unfinished(records.index(item.record)) from exc
            return
        for poison in decoded:
            if isinstance(poison, _Poison):
                await self._dead_letter(poison.record, poison.error)
        elapsed = time.perf_counter() - started
        for event, outcome in zip(events, outcomes, strict=True):
            EVENTS_CONSUMED.labels(event.record.topic, outcome).inc()
            EVENT_HANDLING_LATENCY.labels(event.record.topic).observe(elapsed / len(events))

    def _decode(self, record: ConsumerRecord[bytes, bytes]) -> _Event | _Poison | None:
        """The record's event; a poison marker if it cannot be decoded; None if no
        handler here wants its type."""
        try:
            raw = RawCloudEvent.model_validate_json(record.value or b"")
        except ValidationError as exc:
            return _Poison(record, f"not a CloudEvent: {_errors(exc)}")
        entry = self._handlers.get(raw.type)
        if entry is None:
            if (record.topic, raw.type) not in self._known_types:
                return _Poison(record, f"unknown event type {raw.type!r} on {record.topic}")
            EVENTS_CONSUMED.labels(record.topic, "ignored").inc()
            return None
        event_type, handler, prepare = entry
        try:
            data = event_type.data.model_validate(raw.data)
        except ValidationError as exc:
            return _Poison(record, f"{raw.type} data invalid: {_errors(exc)}")
        return _Event(record, raw, handler, data, prepare)

    async def _apply(
        self, session: AsyncSession, event: _Event, fresh: set[str] | None = None
    ) -> str:
        """Handles ``event`` unless this consumer already did. ``fresh``: the batch's ids
        already recorded as handled by this transaction and not seen before (each is
        taken once, so an event twice in one batch is handled once); without it, the id
        is recorded here."""
        record = event.record
        with tracing.process_span(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            headers=record.headers,
            envelope_traceparent=event.raw.traceparent,
            event_id=event.raw.id,
            event_type=event.raw.type,
            group=self._group_id,
        ):
            request_id_var.set(None)
            adopt_traceparent(event.raw.traceparent)
            if fresh is not None:
                if event.raw.id not in fresh:
                    return "duplicate"
                fresh.discard(event.raw.id)
            elif not await repository.remember_processed(session, self._group_id, event.raw.id):
                return "duplicate"
            with handling(event.raw):
                await event.handler(session, event.data)
            return "handled"

    async def _handle_alone(self, item: _Event | _Poison) -> None:
        if isinstance(item, _Poison):
            await self._dead_letter(item.record, item.error)
            return
        event = item
        topic = event.record.topic
        started = time.perf_counter()
        for attempt in range(self._max_retries + 1):
            try:
                async with self._sessions() as session, session.begin():
                    outcome = await self._apply(session, event)
                    await write_queued(session, at_commit=True)
                EVENTS_CONSUMED.labels(topic, outcome).inc()
                EVENT_HANDLING_LATENCY.labels(topic).observe(time.perf_counter() - started)
                return
            except PermanentError as exc:
                await self._dead_letter(event.record, f"{event.raw.type}: {exc}")
                return
            except Exception as exc:
                if attempt == self._max_retries and is_outage(exc):
                    raise  # not the record's fault: keep it, retry it when the outage ends
                if attempt == self._max_retries:
                    log.exception(
                        "handler failed; sending to DLQ", extra={"event_id": event.raw.id}
                    )
                    await self._dead_letter(
                        event.record, f"{event.raw.type}: {type(exc).__name__}: {exc}"
                    )
                    return
                log.warning(
                    "handler failed; retrying",
                    extra={"event_id": event.raw.id, "attempt": attempt + 1, "error": repr(exc)},
                )
                await asyncio.sleep(self._backoff * 2**attempt)

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], error: str) -> None:
        EVENTS_CONSUMED.labels(record.topic, "dead_lettered").inc()
        log.error(
            "record dead-lettered",
            extra={"topic": record.topic, "offset": record.offset, "error": error[:500]},
        )
        headers = [
            ("dlq-error", error[:1000].encode()),
            ("dlq-source-topic", record.topic.encode()),
            ("dlq-source-partition", str(record.partition).encode()),
            ("dlq-source-offset", str(record.offset).encode()),
            ("dlq-consumer", self._group_id.encode()),
        ]
        # Waits for the broker's ack: the offset is committed only once the record is safe.
        try:
            await self._producer.send_and_wait(
                f"{record.topic}.dlq", value=record.value, key=record.key, headers=headers
            )
        except MessageSizeTooLargeError:
            # A record near the size limit no longer fits with these headers. Without its
            # value (and an outsized key), still readable at its source offset, it fits.
            size = len(record.value or b"") + len(record.key or b"")
            await self._producer.send_and_wait(
                f"{record.topic}.dlq",
                value=None,
                key=record.key if len(record.key or b"") <= _KEY_KEPT_BYTES else None,
                headers=[*headers, ("dlq-omitted-bytes", str(size).encode())],
            )


_KEY_KEPT_BYTES = 1024
_FETCH_RECORDS = 200


def _errors(exc: ValidationError) -> str:
    """The count and the first few errors, where and what, never the input itself."""
    shown = "; ".join(
        f"{'.'.join(map(str, error['loc'])) or 'record'}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False)[:3]
    )
    return f"{exc.error_count()} errors ({shown})"


class _CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """Commits what was handled of the partitions a rebalance takes away, before the new
    owner starts from the committed offsets: it would skip those records by their ids
    anyway, but only after fetching and checking them again."""

    def __init__(self, consumer: EventConsumer) -> None:
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._consumer.commit_on_revoke(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        pass
