"""The load generator of the pipeline benchmarks (e2e, profile, soak): raw HTTP/1.1
keep-alive connections (tests/bench_parts/rawload.py's request bytes, one request in flight
per connection) and one Kafka consumer on ``customs.lanes.v1`` that notes when each
declaration's first lane event arrives.

Two ways to drive it:
- ``saturate``: closed loop, N submitters each with one declaration in flight from its POST
  until its lane arrives; the rate of lanes is the sustained throughput;
- ``paced``: open loop, a POST every 1/rate seconds on a schedule whatever the answers; a
  declaration's latency runs from its scheduled send time to its lane (so a stall delays
  every later send's latency too, not just one)."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer

from tests.bench_parts import rawload

LANES = "customs.lanes.v1"
LANE_WAIT_SECONDS = 60.0  # a declaration without a lane by then counts as missing
MAX_CONNECTIONS = 512  # the open loop's pool (a stall opens more, up to this)


def _lane(value: bytes | None) -> str:
    try:
        return str(json.loads(value or b"")["data"]["lane"])
    except (ValueError, KeyError, TypeError):
        return "unreadable"


class LaneWatcher:
    """Arrival time (perf_counter) of the first lane event of every declaration id."""

    def __init__(self, bootstrap: str) -> None:
        self.arrived: dict[str, float] = {}
        self.lanes: Counter[str] = Counter()  # lane colour → declarations (a sanity check)
        self._waiters: dict[str, asyncio.Future[float]] = {}
        self._consumer = AIOKafkaConsumer(
            LANES, bootstrap_servers=bootstrap, auto_offset_reset="latest"
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        await self._consumer.seek_to_end()
        # seek_to_end is lazy: a first fetch fixes the positions before anything is sent.
        await self._consumer.getmany(timeout_ms=100)
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()

    async def _run(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=200, max_records=2000)
            now = time.perf_counter()
            for records in batches.values():
                for record in records:
                    key = record.key.decode() if record.key else ""
                    if key and key not in self.arrived:
                        self.arrived[key] = now
                        self.lanes[_lane(record.value)] += 1
                        waiter = self._waiters.pop(key, None)
                        if waiter is not None and not waiter.done():
                            waiter.set_result(now)

    async def wait(self, declaration_id: str) -> float | None:
        """When the lane of ``declaration_id`` arrived; None if not in LANE_WAIT_SECONDS."""
        if declaration_id in self.arrived:
            return self.arrived[declaration_id]
        waiter = self._waiters.setdefault(
            declaration_id, asyncio.get_running_loop().create_future()
        )
        try:
            return await asyncio.wait_for(asyncio.shield(waiter), LANE_WAIT_SECONDS)
        except TimeoutError:
            return None
        finally:
            self._waiters.pop(declaration_id, None)


@dataclass
class Target:
    """Where the POSTs go and what they carry: ``bodies`` yields request bodies (each
    different where the API would otherwise see the same declaration twice)."""

    host: str
    port: int
    path: str
    headers: dict[str, str]
    bodies: Iterator[bytes]
    id_of: Callable[[bytes], str | None] = field(default=lambda body: json.loads(body)["id"])

    def request(self) -> bytes:
        return rawload.request_bytes(
            "POST", self.host, self.port, self.path, self.headers, next(self.bodies)
        )


class Connection:
    """One keep-alive connection. uvicorn closes a connection idle for 5 s (its
    keep-alive timeout), and a closed loop waits for a lane between its POSTs: a connection
    idle for longer than IDLE_SECONDS is replaced before the next request."""

    IDLE_SECONDS = 3.0

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._used = 0.0

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        connection = cls(host, port)
        await connection._connect()
        return connection

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self.close()
        self._stream = await asyncio.open_connection(self.host, self.port)
        return self._stream

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Sends one request; the answer's status and body."""
        if self._stream is None or time.perf_counter() - self._used > self.IDLE_SECONDS:
            await self._connect()
        assert self._stream is not None
        reader, writer = self._stream
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await reader.readexactly(length)
        self._used = time.perf_counter()
        return int(head[9:12]), body

    def close(self) -> None:
        if self._stream is not None:
            self._stream[1].close()
            self._stream = None


@dataclass
class Outcome:
    """What a phase saw. ``samples``: (scheduled or sent time, lane latency or None when no
    lane arrived, HTTP status) per declaration, in the order sent."""

    samples: list[tuple[float, float | None, int]] = field(default_factory=list)
    started: float = 0.0
    measured_seconds: float = 0.0
    measured_lanes: int = 0

    @property
    def failed(self) -> list[int]:
        return [status for _, _, status in self.samples if not 200 <= status < 300]

    @property
    def missing(self) -> int:
        return sum(1 for _, latency, status in self.samples if latency is None and status < 300)

    @property
    def rate(self) -> float:
        return self.measured_lanes / self.measured_seconds if self.measured_seconds else 0.0


async def _submit(connection: Connection, target: Target) -> tuple[int, str | None, bytes]:
    status, body = await connection.exchange(target.request())
    declaration_id = target.id_of(body) if 200 <= status < 300 else None
    return status, declaration_id, body


async def saturate(
    target: Target,
    watcher: LaneWatcher | None,
    *,
    submitters: int,
    warm_up: float,
    seconds: float,
    max_count: int,
    at_start: Callable[[], None] = lambda: None,
    at_end: Callable[[], None] = lambda: None,
) -> Outcome:
    """``submitters`` closed loops for ``warm_up`` seconds, then measured for ``seconds``
    or until ``max_count`` completions, whichever comes first. A completion is a lane
    arriving (with ``watcher``) or an answer (without: the bare baseline). ``at_start`` and
    ``at_end`` run at the measured window's edges (CPU samples, profilers)."""
    outcome = Outcome()
    done_at: list[float] = []
    stop = asyncio.Event()
    enough = asyncio.Event()
    window: list[float] = []

    async def loop() -> None:
        connection = await Connection.open(target.host, target.port)
        try:
            while not stop.is_set():
                sent = time.perf_counter()
                status, declaration_id, _ = await _submit(connection, target)
                if declaration_id is None:
                    outcome.samples.append((sent, None, status))
                    continue
                finished = time.perf_counter() if watcher is None else None
                if watcher is not None:
                    finished = await watcher.wait(declaration_id)
                if finished is None:
                    outcome.samples.append((sent, None, status))
                    continue
                outcome.samples.append((sent, finished - sent, status))
                done_at.append(finished)
                if window and not stop.is_set() and finished >= window[0]:
                    outcome.measured_lanes += 1
                    if outcome.measured_lanes >= max_count:
                        enough.set()
        finally:
            connection.close()

    outcome.started = time.perf_counter()
    tasks = [asyncio.create_task(loop()) for _ in range(submitters)]
    try:
        await asyncio.sleep(warm_up)
        at_start()
        window.append(time.perf_counter())
        try:
            await asyncio.wait_for(enough.wait(), seconds)
        except TimeoutError:
            pass
        ended = time.perf_counter()
        at_end()
        outcome.measured_seconds = ended - window[0]
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), LANE_WAIT_SECONDS + 30)
    finally:
        for task in tasks:
            task.cancel()
    return outcome


async def paced(
    target: Target,
    watcher: LaneWatcher,
    *,
    rate: float,
    seconds: float,
    on_sent: Callable[[int], None] = lambda count: None,
) -> Outcome:
    """One POST every 1/``rate`` s for ``seconds``, on a fixed schedule; then waits for the
    lanes still due (at most LANE_WAIT_SECONDS). Latency = lane arrival - scheduled time."""
    outcome = Outcome()
    idle: list[Connection] = []
    opened = 0
    available = asyncio.Semaphore(MAX_CONNECTIONS)

    async def one(index: int, scheduled: float) -> None:
        nonlocal opened
        async with available:
            connection = idle.pop() if idle else None
            if connection is None:
                connection = await Connection.open(target.host, target.port)
                opened += 1
            try:
                status, declaration_id, _ = await _submit(connection, target)
            except (OSError, asyncio.IncompleteReadError):
                connection.close()
                outcome.samples[index] = (scheduled - outcome.started, None, 599)
                return
            idle.append(connection)
        arrived = None if declaration_id is None else await watcher.wait(declaration_id)
        latency = None if arrived is None else arrived - scheduled
        outcome.samples[index] = (scheduled - outcome.started, latency, status)

    count = int(rate * seconds)
    outcome.samples = [(0.0, None, 0)] * count
    outcome.started = time.perf_counter()
    tasks = []
    for index in range(count):
        scheduled = outcome.started + index / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index, scheduled)))
        on_sent(index + 1)
    await asyncio.gather(*tasks)
    outcome.measured_seconds = time.perf_counter() - outcome.started
    outcome.measured_lanes = sum(1 for _, latency, _ in outcome.samples if latency is not None)
    for connection in idle:
        connection.close()
    return outcome


def quantile(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of ``values``; NaN when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
