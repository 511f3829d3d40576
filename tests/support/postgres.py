"""A throwaway PostgreSQL cluster on a free port, from Debian's binaries.

pytest-postgresql cannot be used here: PostgreSQL refuses to run as root, and
CI runs as root, so the server is started as the ``postgres`` system user."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from customs_shared import db
from tests.support.ports import free_port


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    # The local cluster's directory (data, socket, log); None in a container.
    root: Path | None = None
    crash_safe: bool = False

    def url(self, database: str, driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://{self.user}@{self.host}:{self.port}/{database}"


def _bin_dir() -> Path:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "pg_ctl").exists():
            return candidate
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    raise RuntimeError("PostgreSQL binaries not found: run `make setup` (installs postgresql)")


def _as_owner(args: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


@contextlib.contextmanager
def postgres_server(databases: list[str], *, crash_safe: bool = False) -> Iterator[PostgresServer]:
    """``crash_safe``: a commit is acknowledged once its WAL reached the operating system,
    so a SIGKILLed server loses none (the fault tests); otherwise commits are acknowledged
    before, which is faster and fine for tests that never kill the server."""
    bin_dir = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="customs-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = free_port()
    subprocess.run(
        _as_owner(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ]
        ),
        check=True,
        capture_output=True,
    )
    _pg_ctl_start(bin_dir, root, port, crash_safe=crash_safe)
    try:
        for database in databases:
            subprocess.run(
                [
                    str(bin_dir / "psql"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "-U",
                    "postgres",
                    "-q",
                    "-c",
                    f'CREATE DATABASE "{database}"',
                ],
                check=True,
                capture_output=True,
            )
        yield PostgresServer("127.0.0.1", port, "postgres", root, crash_safe)
    finally:
        subprocess.run(
            _as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def _pg_ctl_start(bin_dir: Path, root: Path, port: int, *, crash_safe: bool) -> None:
    # fsync=off loses data only when the machine crashes, not when the server is killed;
    # synchronous_commit=off loses the last commits whenever the server dies.
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
        f"-c synchronous_commit={'on' if crash_safe else 'off'} "
        "-c full_page_writes=off -c max_connections=300"
    )
    subprocess.run(
        _as_owner(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(root / "data"),
                "-o",
                options,
                "-l",
                str(root / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )


def _local_root(server: PostgresServer) -> Path:
    if server.root is None:
        raise RuntimeError("only a local PostgreSQL cluster can be killed and restarted")
    return server.root


def kill_server(server: PostgresServer) -> None:
    """SIGKILL to the postmaster and every backend at once, as when the node dies: no
    checkpoint, no shutdown record; the next start runs crash recovery."""
    postmaster = int((_local_root(server) / "data" / "postmaster.pid").read_text().split()[0])
    victims = [postmaster, *_children(postmaster)]
    for pid in victims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in victims):
        if time.monotonic() > deadline:
            raise TimeoutError("PostgreSQL processes outlived SIGKILL by 10 s")
        time.sleep(0.05)


def restart_server(server: PostgresServer) -> None:
    """Starts the killed cluster again on its data directory and port."""
    _pg_ctl_start(_bin_dir(), _local_root(server), server.port, crash_safe=server.crash_safe)


def _children(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # The command name (field 2) may hold spaces; the fields after it do not.
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == parent:
                found.append(int(stat.parent.name))
    return found


# The ``migrated_sessions`` fixture: migrations location → sessions on a database
# that those migrations have just built.
MigratedSessions = Callable[[str], Awaitable[async_sessionmaker[AsyncSession]]]


@contextlib.contextmanager
def sent_statements(session: AsyncSession) -> Iterator[list[str]]:
    """The SQL texts ``session``'s engine sends inside the block, in order: through the
    engine, and straight to the driver (the queued rows, customs_shared.db)."""
    statements: list[str] = []
    engine = session.get_bind()
    send = db._send

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    async def record_and_send(
        connection: AsyncConnection, driver: Any, sql: str, arguments: list[Any]
    ) -> None:
        if connection.sync_engine is engine:
            statements.append(sql)
        await send(connection, driver, sql, arguments)

    event.listen(engine, "before_cursor_execute", record)
    try:
        with mock.patch.object(db, "_send", record_and_send):
            yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
