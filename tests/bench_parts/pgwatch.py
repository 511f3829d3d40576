"""What PostgreSQL holds over a soak: each service database's tables (live and dead rows,
size, autovacuum passes) and the own memory of each backend by what it serves, so that a
trend in latency or memory can be traced to a table or a kind of backend."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
from dataclasses import dataclass
from pathlib import Path

import psycopg
from pydantic_settings import BaseSettings

from customs_shared.services import DATABASE_SERVICES
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


@dataclass(frozen=True)
class Backend:
    kind: str  # "backends of <database>" for a client backend, else the process's title
    client: bool
    own_mb: float


def processes(postmaster: int) -> dict[int, Backend]:
    """The postmaster's children by pid, with what each serves and its own memory (MB):
    the title PostgreSQL gives it ("postgres: <user> <database> <address>(<port>)
    <state>" for a client backend; "checkpointer", "autovacuum worker", ...)."""
    found: dict[int, Backend] = {}
    for pid in procstat.children(postmaster):
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            own = procstat.tree_memory(pid).own_mb or 0.0
        except OSError:
            continue
        words = title.removeprefix("postgres: ").split()
        client = len(words) >= 3 and "(" in words[2]
        kind = f"backends of {words[1]}" if client else " ".join(words)
        found[pid] = Backend(kind, client, own)
    return found


def by_kind(backends: dict[int, Backend]) -> dict[str, tuple[int, float]]:
    """Count and own memory (MB) of each kind of process."""
    groups: dict[str, tuple[int, float]] = {}
    for backend in backends.values():
        count, total = groups.get(backend.kind, (0, 0.0))
        groups[backend.kind] = (count + 1, total + backend.own_mb)
    return groups


def pool_caps() -> int:
    """The connections the services may hold at most: the sum of their pools' sizes
    (``<PREFIX>DATABASE_POOL_SIZE``, from the environment or the settings' default)."""
    total = 0
    for spec in DATABASE_SERVICES:
        configured = os.environ.get(f"{spec.prefix}DATABASE_POOL_SIZE")
        if configured is None:
            module = importlib.import_module(f"{spec.package}.settings")
            settings = next(
                value
                for value in vars(module).values()
                if isinstance(value, type)
                and issubclass(value, BaseSettings)
                and getattr(value, "spec", None) == spec
            )
            configured = str(settings.model_fields["database_pool_size"].default)
        total += int(configured)
    return total


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
