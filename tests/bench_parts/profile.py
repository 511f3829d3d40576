"""``make profile``: where each service's CPU goes under the e2e load. py-spy samples
every service process during the sustained (closed-loop) phase of ``make bench BENCH=e2e``
and writes, per service, into ``.bench/profiles/``:

- ``<service>.svg``: a flame graph (open it in a browser; click to zoom);
- ``<service>.speedscope.json``: the same samples for https://www.speedscope.app
  (time-ordered and left-heavy views).

py-spy writes one format per run and two recorders on one process spoil each other's
samples (a fifth failed when tried), so the flame graphs are recorded first, then the
speedscope files, each for PROFILE_SECONDS at PROFILE_RATE samples per second. Idle
threads are left out (py-spy's default), but py-spy takes a thread the kernel lists as
running for a working one, and so it is while it waits for a core: on two cores the load
keeps busy, a process woken by a socket often waits its turn, and that wait is sampled
where it woke (``Runner.run``, a ``write`` to a socket) or where it was preempted. The
graphs then show time on a core or waiting for one, not CPU alone: each service's CPU
over the speedscope recording (from /proc) is printed beside its samples, as cores, for
the proportion. Sampling pauses the services briefly: the rate printed here is not a
benchmark figure and is not recorded.

py-spy reads other processes' memory (ptrace): it needs root or CAP_SYS_PTRACE, as in CI
and here; elsewhere ``sudo make profile`` or ``kernel.yama.ptrace_scope=0``."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from deploy.local.cluster import REPO
from tests.bench_parts import laneload
from tests.bench_parts.e2e import errors, pipeline_sustained
from tests.bench_parts.procstat import tree_cpu_seconds
from tests.bench_parts.stack import Stack, stack

SECONDS = int(os.environ.get("PROFILE_SECONDS", "20"))
RATE = int(os.environ.get("PROFILE_RATE", "100"))
PROFILES = REPO / ".bench" / "profiles"
FORMATS = {"flamegraph": "svg", "speedscope": "speedscope.json"}


def py_spy() -> str:
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise RuntimeError("py-spy is not installed: make setup-python (a dev dependency)")
    return found


def record(pid: int, service: str, kind: str) -> subprocess.Popen[bytes]:
    with (PROFILES / f"{service}.{FORMATS[kind]}.log").open("wb") as log:
        return subprocess.Popen(
            [
                py_spy(),
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(SECONDS),
                "--rate",
                str(RATE),
                "--format",
                kind,
                "--output",
                str(PROFILES / f"{service}.{FORMATS[kind]}"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def record_in_turn(
    services: dict[str, int], failed: list[str], cpu_seconds: dict[str, float]
) -> None:
    """Each format in turn, every service at once; ``cpu_seconds``: each service's CPU
    over the speedscope recording, whose samples are counted beside it."""
    for kind in FORMATS:
        before = {name: tree_cpu_seconds(pid) for name, pid in services.items()}
        recorders = {name: record(pid, name, kind) for name, pid in services.items()}
        for name, recorder in recorders.items():
            if recorder.wait(timeout=SECONDS + 60) != 0:
                failed.append(f"{name}.{FORMATS[kind]}")
        if kind == "speedscope":
            for name, pid in services.items():
                cpu_seconds[name] = tree_cpu_seconds(pid) - before[name]


def sampled_seconds(speedscope: Path) -> float:
    """The time py-spy found a service's threads working, from its speedscope samples."""
    profiles = json.loads(speedscope.read_text())["profiles"]
    return sum(len(profile["samples"]) for profile in profiles) / RATE


async def run(bench: Stack) -> None:
    PROFILES.mkdir(parents=True, exist_ok=True)
    services = {
        name: process.process.pid
        for name, process in bench.cluster.processes.items()
        if process.process is not None
    }
    failed: list[str] = []
    cpu_seconds: dict[str, float] = {}
    recording = threading.Thread(target=record_in_turn, args=(services, failed, cpu_seconds))

    watcher = laneload.LaneWatcher(bench.cluster.kafka_bootstrap)
    await watcher.start()
    try:
        # The load runs past the recorders' end, so every sample is taken under load.
        loaded = await pipeline_sustained(
            bench, watcher, seconds=len(FORMATS) * SECONDS + 5, at_start=recording.start
        )
    finally:
        await watcher.stop()
    recording.join(timeout=60)
    sys.stdout.write(
        f"\n{loaded.rate:.1f} declarations/s laned while profiled ({RATE} Hz; slower than "
        "an unprofiled run)\n"
    )
    if errors(loaded.outcome):
        sys.stdout.write(f"errors under the profilers: {errors(loaded.outcome)}\n")
    sys.stdout.write("cores per service over the speedscope recording: CPU / sampled\n")
    for name in services:
        speedscope = PROFILES / f"{name}.{FORMATS['speedscope']}"
        if name in cpu_seconds and speedscope.exists():
            sys.stdout.write(
                f"  {name:18} {cpu_seconds[name] / SECONDS:5.2f} / "
                f"{sampled_seconds(speedscope) / SECONDS:5.2f}\n"
            )
    for name in services:
        for suffix in FORMATS.values():
            path = PROFILES / f"{name}.{suffix}"
            size = path.stat().st_size if path.exists() else 0
            sys.stdout.write(f"  {path.relative_to(REPO)}  ({size // 1024} KiB)\n")
    if failed or recording.is_alive():
        raise RuntimeError(f"py-spy failed for {failed or 'some'}: see {PROFILES}/*.log")


def main() -> None:
    with stack(bare=False) as bench:
        asyncio.run(run(bench))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
