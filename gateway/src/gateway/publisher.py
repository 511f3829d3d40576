"""The gateway's Kafka producer (partner events, token revocations): idempotent, acks=all,
started on first use, so the gateway serves tokens and proxies while Kafka is away and
answers 503 with Retry-After for what needs Kafka."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiokafka.errors import KafkaError
from aiokafka.structs import RecordMetadata

from customs_shared.db import utcnow
from customs_shared.events.catalog import PARTNER_EVENTS, TOKEN_REVOCATIONS
from customs_shared.messaging.kafka import Producer, new_producer
from customs_shared.revocation import Revocation, RevocationKind
from gateway.errors import KafkaUnavailable

log = logging.getLogger(__name__)

CONTENT_TYPE_HEADER = ("content-type", b"application/cloudevents+json")


class KafkaPublisher:
    def __init__(self, bootstrap: str, client_id: str, *, timeout_seconds: float) -> None:
        self._bootstrap = bootstrap
        self._client_id = client_id
        self._timeout = timeout_seconds
        self._retry_after = max(1, round(timeout_seconds))
        self._producer: Producer | None = None
        self._lock = asyncio.Lock()

    async def _started(self) -> Producer:
        async with self._lock:
            if self._producer is not None:
                return self._producer
            # The producer's own request timeout bounds each send, so a send that gave
            # up is not delivered later behind the caller's back.
            producer = new_producer(
                self._bootstrap,
                self._client_id,
                request_timeout_ms=int(self._timeout * 1000),
            )
            try:
                await asyncio.wait_for(producer.start(), self._timeout)
            except (KafkaError, TimeoutError, OSError) as exc:
                await producer.stop()
                log.warning("kafka not reachable", extra={"error": str(exc)})
                raise self.unavailable() from exc
            self._producer = producer
            return producer

    def unavailable(self) -> KafkaUnavailable:
        return KafkaUnavailable(
            "Kafka did not acknowledge in time; try again later.",
            retry_after=self._retry_after,
        )

    async def publish(
        self, key: str, value: bytes, *, topic: str = PARTNER_EVENTS.name
    ) -> RecordMetadata:
        """Produces one record and returns Kafka's acknowledgement (all in-sync replicas)."""
        (acknowledged,) = await self.publish_many([(key, value)], topic=topic)
        if isinstance(acknowledged, KafkaUnavailable):
            raise acknowledged
        return acknowledged

    async def publish_many(
        self, records: Sequence[tuple[str, bytes]], *, topic: str = PARTNER_EVENTS.name
    ) -> list[RecordMetadata | KafkaUnavailable]:
        """Produces the (key, value) records in their order without waiting for each
        acknowledgement, then waits for all of them: each record's own acknowledgement,
        or the problem that says it was not produced. The idempotent producer keeps the
        order of the records of one partition, as one send at a time would."""
        try:
            producer = await self._started()
        except KafkaUnavailable as exc:
            return [exc] * len(records)
        headers = [CONTENT_TYPE_HEADER] if topic == PARTNER_EVENTS.name else []
        sent: list[asyncio.Future[RecordMetadata] | KafkaError] = []
        for key, value in records:
            try:
                sent.append(
                    await producer.send(topic, value=value, key=key.encode(), headers=headers)
                )
            except KafkaError as exc:  # not even queued: the send buffer stayed full
                sent.append(exc)
        return list(await asyncio.gather(*(self._acknowledged(each) for each in sent)))

    async def _acknowledged(
        self, sent: asyncio.Future[RecordMetadata] | KafkaError
    ) -> RecordMetadata | KafkaUnavailable:
        error = sent
        if not isinstance(sent, KafkaError):
            try:
                return await sent
            except KafkaError as exc:
                error = exc
        log.warning("record not acknowledged", extra={"error": str(error)})
        return self.unavailable()

    async def revoke(self, kind: RevocationKind, value: str, reason: str) -> Revocation:
        """Publishes a revocation of one token or of a client's current tokens on the
        compacted revocation topic every process reads."""
        revocation = Revocation(kind=kind, value=value, revoked_at=utcnow(), reason=reason)
        await self.publish(
            revocation.key, revocation.model_dump_json().encode(), topic=TOKEN_REVOCATIONS.name
        )
        return revocation

    async def tombstone(self, key: str, *, topic: str) -> None:
        """A record without a value: compaction then drops every record of ``key``."""
        producer = await self._started()
        try:
            await producer.send_and_wait(topic, value=None, key=key.encode())
        except KafkaError as exc:
            log.warning("tombstone not acknowledged", extra={"error": str(exc)})
            raise self.unavailable() from exc

    async def close(self) -> None:
        async with self._lock:
            if self._producer is not None:
                await self._producer.stop()
                self._producer = None
