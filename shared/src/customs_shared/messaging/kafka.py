"""Kafka clients configured the one way the cluster uses them."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import TopicAlreadyExistsError

from customs_shared.events.catalog import TOPICS


def new_producer(
    bootstrap: str, client_id: str, *, request_timeout_ms: int = 15_000
) -> AIOKafkaProducer:
    # Idempotence with acks=all: a retried send is written once, in order, per partition.
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=2,
        request_timeout_ms=request_timeout_ms,
    )


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


async def check_kafka(producer: AIOKafkaProducer) -> None:
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
