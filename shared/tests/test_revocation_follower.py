"""The revocation reader waits long on the broker when nothing comes
(FOLLOWER_FETCH_MAX_WAIT_MS), on a real Kafka: a revocation published meanwhile still
arrives at once, and the reader still stops at once; a reader that fails, or whose fetches
stop without failing, reads again."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from prometheus_client import REGISTRY

from customs_shared.db import utcnow
from customs_shared.events.catalog import TOKEN_REVOCATIONS
from customs_shared.messaging.kafka import FOLLOWER_FETCH_MAX_WAIT_MS, new_follower, new_producer
from customs_shared.revocation import (
    Revocation,
    RevocationKind,
    RevocationList,
    RevocationListener,
)

pytestmark = pytest.mark.integration


async def _publish(bootstrap: str) -> Revocation:
    revocation = Revocation(
        kind=RevocationKind.TOKEN, value=f"jti-{uuid.uuid4()}", revoked_at=utcnow()
    )
    producer = new_producer(bootstrap, "follower-test")
    await producer.start()
    try:
        await producer.send_and_wait(
            TOKEN_REVOCATIONS.name,
            key=revocation.key.encode(),
            value=revocation.model_dump_json().encode(),
        )
    finally:
        await producer.stop()
    return revocation


async def test_a_revocation_arrives_at_once_and_the_reader_stops_at_once(
    kafka_bootstrap: str,
) -> None:
    wait_seconds = FOLLOWER_FETCH_MAX_WAIT_MS / 1000
    revocations = RevocationList()
    reader = RevocationListener(kafka_bootstrap, revocations, client_id="follower-test")
    producer = new_producer(kafka_bootstrap, "follower-test")
    await producer.start()
    reader.start()
    try:
        await asyncio.wait_for(reader.caught_up.wait(), 30)
        await asyncio.sleep(0.5)  # the reader's fetch is now held by the broker
        revocation = Revocation(
            kind=RevocationKind.TOKEN, value=f"jti-{uuid.uuid4()}", revoked_at=utcnow()
        )
        sent = time.monotonic()
        await producer.send_and_wait(
            TOKEN_REVOCATIONS.name,
            key=revocation.key.encode(),
            value=revocation.model_dump_json().encode(),
        )
        while not revocations.is_revoked({"jti": revocation.value}):
            assert time.monotonic() - sent < wait_seconds, "arrived only when the wait ended"
            await asyncio.sleep(0.01)
        arrived = time.monotonic() - sent
    finally:
        stopping = time.monotonic()
        await reader.stop()
        stopped = time.monotonic() - stopping
        await producer.stop()
    assert arrived < 1.0
    assert stopped < 2.0
    assert wait_seconds >= 2 * stopped  # the test shows something only with a long wait


async def test_a_reader_that_fails_unexpectedly_reads_again(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error that is not Kafka's (uvloop's RuntimeError on a closed transport, a bug)
    out of a fetch does not end the reader: it reads the topic again, and a revocation
    published after the failure is applied."""
    revocations = RevocationList()
    reader = RevocationListener(kafka_bootstrap, revocations, client_id="follower-test")
    fetch = AIOKafkaConsumer.getmany
    failed = asyncio.Event()

    async def failing_once(consumer: AIOKafkaConsumer, *args: Any, **kwargs: Any) -> Any:
        if reader.caught_up.is_set() and not failed.is_set():
            failed.set()
            raise RuntimeError("unable to perform operation on <TCPTransport closed=True>")
        return await fetch(consumer, *args, **kwargs)

    monkeypatch.setattr(AIOKafkaConsumer, "getmany", failing_once)
    reader.start()
    try:
        await asyncio.wait_for(reader.caught_up.wait(), 30)
        await asyncio.wait_for(failed.wait(), 30)
        revocation = await _publish(kafka_bootstrap)
        deadline = time.monotonic() + 20
        while not revocations.is_revoked({"jti": revocation.value}):
            assert time.monotonic() < deadline, "never applied: the reader is gone"
            await asyncio.sleep(0.05)
    finally:
        await reader.stop()


async def test_a_reader_whose_fetches_stop_without_an_error_reads_again(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its consumer's fetches stop with no error (paused, on the real broker): it stays
    behind the topic's end once a revocation is published, so after the stall period the
    reader starts again with a new consumer, and the revocation is applied."""
    followers: list[AIOKafkaConsumer] = []
    client_id = f"follower-test-{uuid.uuid4().hex[:8]}"

    def recorded(*args: Any, **kwargs: Any) -> AIOKafkaConsumer:
        consumer = new_follower(*args, **kwargs)
        # Only this reader's: another test's app may still run a reader in this process.
        if kwargs.get("client_id") == client_id:
            followers.append(consumer)
        return consumer

    monkeypatch.setattr("customs_shared.revocation.new_follower", recorded)
    stall_seconds = 1.0
    restarts = _restarts()
    revocations = RevocationList()
    reader = RevocationListener(
        kafka_bootstrap, revocations, client_id=client_id, stall_seconds=stall_seconds
    )
    reader.start()
    try:
        await asyncio.wait_for(reader.caught_up.wait(), 30)
        await asyncio.sleep(2 * stall_seconds)  # caught up and quiet: never stalled
        assert len(followers) == 1
        followers[0].pause(*followers[0].assignment())
        revocation = await _publish(kafka_bootstrap)
        published = time.monotonic()
        while not revocations.is_revoked({"jti": revocation.value}):
            assert time.monotonic() - published < 20, "never applied: the reader stays stalled"
            await asyncio.sleep(0.05)
        assert time.monotonic() - published >= stall_seconds  # not by the paused consumer
        assert len(followers) == 2
        assert _restarts() == restarts + 1
    finally:
        await reader.stop()


def _restarts() -> float:
    return (
        REGISTRY.get_sample_value("kafka_follower_restarts_total", {"reader": "token-revocations"})
        or 0.0
    )
