"""A reader outside any group, its stall decisions over minutes on a clock the test moves
(``test_follower_progress.py`` runs them on the real broker): an outage of the broker is
not a stall, and a reader that moves or has nothing to read never stalls."""

from __future__ import annotations

from typing import cast

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaConnectionError

from customs_shared.messaging.follower import FollowerProgress, FollowerStalled

pytestmark = pytest.mark.unit


class _Reader:
    """A consumer's three answers FollowerProgress reads, set by the test (the decisions
    over time, without a broker; the tests above run them on the real one)."""

    def __init__(self, partition: TopicPartition) -> None:
        self.partition = partition
        self.at = 0
        self.end = 0
        self.broker_down = False

    def assignment(self) -> set[TopicPartition]:
        return {self.partition}

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        if self.broker_down:
            raise KafkaConnectionError("no broker")
        return {self.partition: self.end}

    async def position(self, _partition: TopicPartition) -> int:
        return self.at


async def test_time_the_broker_cannot_answer_does_not_count_as_standing_still() -> None:
    now = [0.0]
    reader = _Reader(TopicPartition("t", 0))
    progress = FollowerProgress(
        cast(AIOKafkaConsumer, reader), stall_seconds=60, clock=lambda: now[0]
    )

    async def after(seconds: float) -> None:
        now[0] += seconds
        await progress.check_moving()

    reader.end = 5
    await after(15)  # behind, seen at offset 0
    reader.broker_down = True
    for _ in range(8):  # two minutes without an answer
        await after(15)
    reader.broker_down = False
    await after(15)  # behind again, at the same offset: a new period starts
    await after(45)
    with pytest.raises(FollowerStalled, match=r"t\[0\] has stayed at offset 0 for 60 s"):
        await after(15)


async def test_a_reader_that_moves_or_has_nothing_to_read_never_stalls() -> None:
    now = [0.0]
    reader = _Reader(TopicPartition("t", 0))
    progress = FollowerProgress(
        cast(AIOKafkaConsumer, reader), stall_seconds=60, clock=lambda: now[0]
    )
    for step in range(40):  # ten minutes, always behind, one record further each time
        reader.end, reader.at = step + 10, step
        now[0] += 15
        await progress.check_moving()
    reader.at = reader.end
    for _ in range(40):  # ten quiet minutes at the end
        now[0] += 15
        await progress.check_moving()
