"""Runs the gateway's consumer of routing's reports beside the API. The gateway serves
tokens without Kafka, so this waits for Kafka in the background instead of holding up
the start, and retries while Kafka is away."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka.errors import KafkaError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.messaging.consumer import EventConsumer
from customs_shared.messaging.kafka import Producer, new_producer
from gateway.partner_events.consumer import SUBSCRIPTIONS

log = logging.getLogger(__name__)

_RETRY_SECONDS = 5.0
_HANDLER_RETRIES = 3
_HANDLER_BACKOFF_SECONDS = 0.2
_COMMIT_INTERVAL_SECONDS = 1.0
_LINGER_SECONDS = 0.0  # the broker's fetch wait batches them (customs_shared.messaging.kafka)


class RoutingReports:
    def __init__(
        self, bootstrap: str, sessions: async_sessionmaker[AsyncSession], *, group_id: str
    ) -> None:
        self._bootstrap = bootstrap
        self._sessions = sessions
        self._group_id = group_id
        self._task: asyncio.Task[None] | None = None
        self._producer: Producer | None = None
        self._consumer: EventConsumer | None = None

    async def _connect(self) -> None:
        while True:
            producer = new_producer(self._bootstrap, f"{self._group_id}-dlq")
            consumer = EventConsumer(
                group_id=self._group_id,
                bootstrap=self._bootstrap,
                sessions=self._sessions,
                producer=producer,
                subscriptions=SUBSCRIPTIONS,
                max_retries=_HANDLER_RETRIES,
                retry_backoff_seconds=_HANDLER_BACKOFF_SECONDS,
                commit_interval_seconds=_COMMIT_INTERVAL_SECONDS,
                linger_seconds=_LINGER_SECONDS,
            )
            try:
                await producer.start()
                await consumer.start()
            except KafkaError as exc:
                log.warning("routing reports not readable yet", extra={"error": str(exc)})
                await self._close(consumer, producer)
                await asyncio.sleep(_RETRY_SECONDS)
                continue
            except asyncio.CancelledError:  # the gateway stops while Kafka is being joined
                await self._close(consumer, producer)
                raise
            self._producer, self._consumer = producer, consumer
            log.info("reading routing's reports on partner events")
            return

    @staticmethod
    async def _close(consumer: EventConsumer, producer: Producer) -> None:
        with contextlib.suppress(Exception):
            await consumer.stop()
        with contextlib.suppress(Exception):
            await producer.stop()

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect(), name="routing-reports")

    async def check_progress(self, limit_seconds: float) -> None:
        """Readiness: once connected, the consumer moves (see EventConsumer.check_progress);
        before, Kafka's own check says why not."""
        if self._consumer is not None:
            await self._consumer.check_progress(limit_seconds)

    async def stop(self) -> None:
        """Finishes the batch in hand and commits what was handled (the consumer's stop)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()
        if self._producer is not None:
            await self._producer.stop()
