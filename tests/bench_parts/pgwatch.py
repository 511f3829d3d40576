"""What PostgreSQL holds over a soak: each service database's tables (live and dead rows,
size, autovacuum passes) and the own memory of each backend by what it serves, so that a
trend in latency or memory can be traced to a table or a kind of backend."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.bench_parts import procstat
from tests.support.postgres import PostgresServer

_TABLES = """
select relname, n_live_tup, n_dead_tup, autovacuum_count,
       pg_total_relation_size(relid)
from pg_stat_user_tables
"""


@dataclass(frozen=True)
class TableSample:
    database: str
    table: str
    live: int
    dead: int
    autovacuums: int
    size_mb: float


def tables(server: PostgresServer, databases: list[str]) -> list[TableSample]:
    samples = []
    for database in databases:
        with psycopg.connect(server.url(database, driver="postgresql")) as connection:
            for name, live, dead, vacuums, size in connection.execute(_TABLES).fetchall():
                samples.append(
                    TableSample(database, name, live, dead, vacuums, size / 2**20),
                )
    return samples


def backends(postmaster: int) -> dict[str, tuple[int, float]]:
    """Own memory (MB) of the postmaster's children, grouped by the title PostgreSQL
    gives each ("postgres: <user> <database> ..." for a client backend, "checkpointer",
    "autovacuum worker", ...): count and sum."""
    groups: dict[str, tuple[int, float]] = {}
    for pid in procstat.children(postmaster):
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            own = procstat.tree_memory(pid).own_mb or 0.0
        except OSError:
            continue
        words = title.removeprefix("postgres: ").split()
        # A client backend's title is "<user> <database> <address>(<port>) <state>":
        # grouped by database; a background process by its name.
        client = len(words) >= 3 and "(" in words[2]
        key = f"backends of {words[1]}" if client else " ".join(words)
        count, total = groups.get(key, (0, 0.0))
        groups[key] = (count + 1, total + own)
    return groups


class Watch:
    """Samples the tables every ``interval`` seconds in a worker thread."""

    def __init__(self, server: PostgresServer, databases: list[str], interval: float) -> None:
        self._server, self._databases, self._interval = server, databases, interval
        self.samples: list[tuple[float, list[TableSample]]] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        while True:
            sample = await asyncio.to_thread(tables, self._server, self._databases)
            self.samples.append((loop.time() - start, sample))
            await asyncio.sleep(self._interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
