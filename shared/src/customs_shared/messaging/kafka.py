"""Kafka clients configured the one way the cluster uses them."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.conn import AIOKafkaConnection, CloseReason
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError
from aiokafka.structs import RecordMetadata

from customs_shared.events.catalog import TOPICS
from customs_shared.metrics import PRODUCER_RENEWALS

log = logging.getLogger(__name__)

Headers = Sequence[tuple[str, bytes]]


def _writes_to_a_closed_connection_fail_as_connection_errors() -> None:
    """aiokafka takes only an ``OSError`` from a request's write for a broken connection;
    uvloop, the services' event loop, raises ``RuntimeError`` for a write to a transport
    the broker has just closed (aio-libs/aiokafka#1038, MagicStack/uvloop#506). That error
    escapes aiokafka's reconnecting and ends the task that wrote: a consumer's group
    coordination, after which the consumer fails every fetch until the process restarts
    (seen after a broker restart: a service stopped consuming and nothing said so). Such a
    write now fails as the connection error aiokafka expects, which it answers by
    reconnecting. Applied once, when this module is first imported."""
    send = AIOKafkaConnection.send
    if getattr(send, "closed_transport_safe", False):
        return

    @functools.wraps(send)
    def send_or_fail_as_broken(self: Any, request: Any, expect_response: bool = True) -> Any:
        try:
            return send(self, request, expect_response)
        except RuntimeError as error:
            writer = self._writer
            if writer is None or not writer.transport.is_closing():
                raise
            self.close(reason=CloseReason.CONNECTION_BROKEN)
            raise KafkaConnectionError(
                f"Connection at {self.host}:{self.port} broken: {error}"
            ) from error

    send_or_fail_as_broken.closed_transport_safe = True  # type: ignore[attr-defined]
    AIOKafkaConnection.send = send_or_fail_as_broken


_writes_to_a_closed_connection_fail_as_connection_errors()

# The largest request the producer sends (aiokafka's default, Kafka's default
# message.max.bytes): a record over it is refused before it leaves, every time.
MAX_RECORD_BYTES = 1_048_576
# An event's JSON leaves room for its key, its headers (content type, trace context) and
# the record batch's own framing.
MAX_EVENT_BYTES = MAX_RECORD_BYTES - 16 * 1024


class Producer:
    """The process's idempotent producer (acks=all: a retried send is written once, in
    order, per partition), renewed after Kafka refuses a record for good.

    aiokafka numbers each partition's batches when it sends them and never takes a number
    back. Once the broker refuses a batch for good (a record over the topic's size limit,
    an unknown error from a failing disk), every later batch of that partition is out of
    sequence, refused in turn, for as long as the process runs (aio-libs/aiokafka#1017;
    the Java client bumps its epoch instead). So such a refusal retires this producer: the
    next send starts a new one, with a new producer id and every sequence from 0. Nothing
    is lost by it, since each caller sends again what was not acknowledged (the outbox
    relay on its next pass, the consumer's dead-lettering on its retry, the gateway's
    client on a 503)."""

    def __init__(self, bootstrap: str, client_id: str, *, request_timeout_ms: int) -> None:
        self._options: dict[str, Any] = {
            "bootstrap_servers": bootstrap,
            "client_id": client_id,
            "enable_idempotence": True,
            "acks": "all",
            "linger_ms": 2,
            "request_timeout_ms": request_timeout_ms,
            "max_request_size": MAX_RECORD_BYTES,
        }
        self._current = AIOKafkaProducer(**self._options)
        self._refused = False
        self._renewing = asyncio.Lock()
        self._retiring: set[asyncio.Task[None]] = set()
        self._closed = False

    @property
    def client(self) -> Any:
        return self._current.client

    async def start(self) -> None:
        await self._current.start()

    @property
    def closed(self) -> bool:
        return self._closed

    async def stop(self) -> None:
        self._closed = True
        await self._current.stop()
        for retiring in list(self._retiring):
            retiring.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retiring

    async def partitions_for(self, topic: str) -> set[int]:
        partitions: set[int] = await self._current.partitions_for(topic)
        return partitions

    async def send(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None,
        headers: Headers = (),
        partition: int | None = None,
    ) -> asyncio.Future[RecordMetadata]:
        """Queues the record; the future holds Kafka's acknowledgement or its refusal."""
        producer = await self._renewed() if self._refused else self._current
        sent: asyncio.Future[RecordMetadata] = await producer.send(
            topic, value=value, key=key, headers=list(headers), partition=partition
        )
        sent.add_done_callback(lambda done: self._note(producer, done))
        return sent

    async def send_and_wait(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None,
        headers: Headers = (),
        partition: int | None = None,
    ) -> RecordMetadata:
        return await (await self.send(topic, value, key, headers, partition))

    def _note(self, producer: AIOKafkaProducer, sent: asyncio.Future[RecordMetadata]) -> None:
        if sent.cancelled() or producer is not self._current or self._refused:
            return
        error = sent.exception()
        if isinstance(error, KafkaError) and not error.retriable:
            self._refused = True
            log.warning(
                "kafka refused a record for good; the producer is renewed",
                extra={"error": type(error).__name__},
            )

    async def _renewed(self) -> AIOKafkaProducer:
        async with self._renewing:
            if self._refused:
                renewed = AIOKafkaProducer(**self._options)
                try:
                    await renewed.start()
                except BaseException:
                    await renewed.stop()
                    raise
                retired, self._current, self._refused = self._current, renewed, False
                PRODUCER_RENEWALS.inc()
                # Its batches still waiting fail (out of sequence) or go through; stopping
                # it waits for them, which must not hold up this send.
                retiring = asyncio.create_task(retired.stop())
                self._retiring.add(retiring)
                retiring.add_done_callback(self._retired)
        return self._current

    def _retired(self, retiring: asyncio.Task[None]) -> None:
        self._retiring.discard(retiring)
        if not retiring.cancelled() and (error := retiring.exception()) is not None:
            log.warning("a retired producer did not close cleanly", extra={"error": repr(error)})


def new_producer(bootstrap: str, client_id: str, *, request_timeout_ms: int = 15_000) -> Producer:
    return Producer(bootstrap, client_id, request_timeout_ms=request_timeout_ms)


# The broker holds a fetch until this much is there for it, or the wait is over: off the
# peak, one fetch (and so one transaction and one relay pass downstream) then carries what
# arrived in that time, instead of one record each; at the peak a fetch fills at once.
FETCH_MIN_BYTES = 64 * 1024
FETCH_MAX_WAIT_MS = 100

# Readers of a whole topic outside any group (the revocation list, ipr's records index)
# take each record as soon as it is there (fetch_min_bytes 1): the broker answers their
# fetch when a record arrives, so a long wait adds no latency. It only spares the broker
# and the reader an empty answer twice a second (the client's default wait of 500 ms).
FOLLOWER_FETCH_MAX_WAIT_MS = 5_000


def new_follower(bootstrap: str, *topics: str, client_id: str | None = None) -> AIOKafkaConsumer:
    """A reader of whole topics from their beginning, outside any consumer group: every
    replica keeps its own copy of what they hold. ``topics`` subscribes to them; without,
    the caller assigns partitions."""
    named = {} if client_id is None else {"client_id": client_id}
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        fetch_max_wait_ms=FOLLOWER_FETCH_MAX_WAIT_MS,
        **named,
    )


def new_consumer(
    bootstrap: str,
    group_id: str,
    topics: list[str],
    listener: ConsumerRebalanceListener,
    *,
    fetch_min_bytes: int = FETCH_MIN_BYTES,
    fetch_max_wait_ms: int = FETCH_MAX_WAIT_MS,
) -> AIOKafkaConsumer:
    # Range assignment gives one member the same partition number of every topic;
    # all topics are keyed by declaration id with equal partition counts, so each
    # declaration's events from every topic reach the same replica.
    consumer = AIOKafkaConsumer(
        partition_assignment_strategy=(RangePartitionAssignor,),
        bootstrap_servers=bootstrap,
        group_id=group_id,
        client_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_poll_records=200,
        fetch_min_bytes=fetch_min_bytes,
        fetch_max_wait_ms=fetch_max_wait_ms,
        # Also the rebalance timeout (aiokafka's default): a rebalance waits for each
        # member's batch in hand, and the whole group with it, for 10 s at most.
        session_timeout_ms=10_000,
        heartbeat_interval_ms=1_000,
    )
    consumer.subscribe(topics, listener=listener)
    return consumer


async def check_kafka(producer: Producer) -> None:
    """Readiness: the broker answers a metadata request now."""
    await producer.client.fetch_all_metadata()


async def ensure_topics(bootstrap: str, *, partitions: int, replication: int = 1) -> list[str]:
    """Creates every catalog topic and its DLQ twin; returns the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="topic-setup")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted: list[NewTopic] = []
        for topic in TOPICS:
            configs = {"cleanup.policy": "compact"} if topic.compacted else {}
            for name in (topic.name, topic.dlq):
                if name not in existing:
                    wanted.append(
                        NewTopic(
                            name,
                            num_partitions=partitions,
                            replication_factor=replication,
                            topic_configs=configs if name == topic.name else {},
                        )
                    )
        if wanted:
            try:
                await admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass
        return [t.name for t in wanted]
    finally:
        await admin.close()
