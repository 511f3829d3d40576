"""CPU time and memory of the benchmark's processes, from Linux /proc.

A process tree's CPU is its root's user + system time, plus the time of its children that
exited and were reaped (the root's cutime/cstime), plus the live children's user + system
time. Sampled before and after a phase, the difference counts every child that ran during
the phase, however short-lived: PostgreSQL forks a backend per connection."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (field 3 is index 0)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def children(pid: int) -> list[int]:
    """The live direct children of ``pid`` (every thread's list)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def tree_cpu_seconds(pid: int) -> float:
    """utime + stime + cutime + cstime of ``pid`` and utime + stime of its live
    descendants (whose own reaped children are in their cutime/cstime)."""
    return _tree_ticks(pid) / _TICK


def _tree_ticks(pid: int) -> int:
    fields = _stat(pid)
    total = sum(int(fields[i]) for i in (11, 12, 13, 14))
    for child in children(pid):
        try:
            total += _tree_ticks(child)
        except OSError:  # exited between the listing and the read: counted once reaped
            continue
    return total


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (every core, every process) since boot:
    user + nice + system + irq + softirq + steal of /proc/stat's first line."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _TICK


def own_cpu_seconds() -> float:
    """This process's user + system time (all its threads, none of its children)."""
    times = os.times()
    return times.user + times.system


GENERATOR = "load-generator"
MACHINE, CLOCK = "machine", "clock"


@dataclass
class CpuMeter:
    """CPU seconds per process between ``start`` and ``stop`` (the trees of ``pids``, and
    this process's own time as the load generator)."""

    pids: dict[str, int]
    before: dict[str, float] = field(default_factory=dict)
    used: dict[str, float] = field(default_factory=dict)

    machine_busy: float = 0.0  # CPU seconds of the whole machine in the window
    seconds: float = 0.0

    def _sample(self) -> dict[str, float]:
        sample = {name: tree_cpu_seconds(pid) for name, pid in self.pids.items()}
        return {
            **sample,
            GENERATOR: own_cpu_seconds(),
            MACHINE: machine_busy_seconds(),
            CLOCK: time.perf_counter(),
        }

    def start(self) -> None:
        self.before = self._sample()

    def stop(self) -> None:
        after = self._sample()
        used = {name: after[name] - self.before[name] for name in after}
        self.machine_busy, self.seconds = used.pop(MACHINE), used.pop(CLOCK)
        self.used = used

    def cores(self) -> tuple[float, float]:
        """Cores busy on average in the window: this system's processes, the whole machine."""
        return sum(self.used.values()) / self.seconds, self.machine_busy / self.seconds

    def ms_per(self, count: int) -> dict[str, float]:
        per = {name: used / count * 1000 for name, used in self.used.items()}
        return {**per, "total": sum(per.values())}


@dataclass(frozen=True)
class Memory:
    rss_mb: float
    pss_mb: float | None  # None where smaps is unreadable
    own_mb: float | None  # PSS of private mappings: shared-memory segments left out
    processes: int = 1


def process_memory(pid: int) -> Memory:
    """RSS, PSS and own memory of ``pid`` alone."""
    rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE / 2**20
    try:
        smaps = Path(f"/proc/{pid}/smaps").read_text()
    except OSError:
        return Memory(rss, None, None)
    pss = own = 0
    private_mapping = True
    for line in smaps.splitlines():
        fields = line.split()
        if not fields:
            continue
        if not fields[0].endswith(":"):  # a mapping's header: "start-end perms offset ..."
            private_mapping = len(fields) > 1 and fields[1][3:4] == "p"
        elif fields[0] == "Pss:":
            pss += int(fields[1])
            if private_mapping:
                own += int(fields[1])
    return Memory(rss, pss / 1024, own / 1024)


def tree_memory(pid: int) -> Memory:
    """RSS, PSS and own memory of ``pid`` and its live descendants, summed. RSS counts
    shared pages once per process; PSS shares them out, so it is the tree's fair total;
    own leaves shared-memory segments out: PostgreSQL's shared buffers fill up to their
    configured size as the tables grow (a cache), a backend's own memory is what would
    leak."""
    pids = [pid]
    for parent in pids:  # grows as it goes: breadth-first
        try:
            pids += children(parent)
        except OSError:
            continue
    rss, pss, own, known, counted = 0.0, 0.0, 0.0, True, 0
    for member in pids:
        try:
            memory = process_memory(member)
        except OSError:
            continue
        counted += 1
        rss += memory.rss_mb
        if memory.pss_mb is None or memory.own_mb is None:
            known = False
        else:
            pss += memory.pss_mb
            own += memory.own_mb
    return Memory(rss, pss if known else None, own if known else None, counted)


def listening_pid(port: int) -> int:
    """The process listening on TCP ``port`` (IPv4 or IPv6), found through its socket's
    inode: the Kafka broker, which infra.kafka names only by its address."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # LISTEN
                inodes.add(fields[9])
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(entry.name)
        except OSError:
            continue
    raise LookupError(f"no process listens on port {port}")


def parent_pid(pid: int) -> int:
    return int(_stat(pid)[1])
