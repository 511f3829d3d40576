"""Where a reader of whole topics outside any consumer group stands (the token revocations,
ipr-svc's records index): caught up with its topics as they stood when it started, and
still moving.

A group's consumer has its lag and its stalls watched (``EventConsumer.check_progress``).
A reader outside a group commits nothing and belongs to no group, so nothing outside the
process would notice that its fetches stopped. It raises no error when they stop without
one: it just keeps answering empty. So each reader asks the broker where its partitions
end, now and then, and gives up on a consumer that stays behind without moving.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

# The ends are asked for this many times per stall period: a reader that no longer moves
# is given up between stall_seconds and 1.25 times that after records start waiting for it.
_CHECKS_PER_STALL = 4


class FollowerStalled(RuntimeError):
    """The reader stayed behind its topic's end without moving: its caller starts again."""


class FollowerProgress:
    """The progress of one consumer outside any group, against its partitions' ends."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        *,
        stall_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._consumer = consumer
        self._stall_seconds = stall_seconds
        self._clock = clock
        self._start_ends: dict[TopicPartition, int] | None = None
        self._next_check = clock() + stall_seconds / _CHECKS_PER_STALL
        # Partition → (its position when last seen behind, since when it has been there).
        self._behind: dict[TopicPartition, tuple[int, float]] = {}

    async def reached_start_ends(self) -> bool:
        """Whether every partition has been read up to where it ended when first asked
        (False until the consumer has partitions)."""
        if self._start_ends is None:
            partitions = list(self._consumer.assignment())
            if not partitions:
                return False
            self._start_ends = dict(await self._consumer.end_offsets(partitions))
        for partition, end in self._start_ends.items():
            if await self._consumer.position(partition) < end:
                return False
        return True

    async def check_moving(self) -> None:
        """Raises FollowerStalled when a partition has stayed behind its end, at the same
        position, for ``stall_seconds``. Cheap to call after every fetch: it asks the broker
        for the ends a few times per stall period only. A reader with nothing to read
        (its position at the end) is never stalled, however long the topic stays quiet;
        nor is one whose broker cannot say where the topic ends (an outage, which the
        service's Kafka readiness check reports): starting again would not mend it."""
        now = self._clock()
        if now < self._next_check:
            return
        self._next_check = now + self._stall_seconds / _CHECKS_PER_STALL
        partitions = list(self._consumer.assignment())
        if not partitions:
            return
        try:
            ends = await self._consumer.end_offsets(partitions)
        except KafkaError:
            # Time spent unable to ask is not time seen standing still: after the outage
            # the reader gets a whole stall period to move again.
            self._behind.clear()
            return
        for partition in partitions:
            position = await self._consumer.position(partition)
            if position >= ends[partition]:
                self._behind.pop(partition, None)
                continue
            seen = self._behind.get(partition)
            if seen is None or seen[0] != position:
                self._behind[partition] = (position, now)
            elif now - seen[1] >= self._stall_seconds:
                raise FollowerStalled(
                    f"{partition.topic}[{partition.partition}] has stayed at offset "
                    f"{position} for {now - seen[1]:.0f} s, with records up to "
                    f"{ends[partition]} waiting"
                )
