"""``make bench BENCH=rate``: the pipeline at one fixed rate, for comparing settings or
code back to back where the peak hides the difference (off the peak, batches are small
and each hop's per-fetch costs decide the CPU). Every service as a process on PostgreSQL
and Kafka, through the gateway, as in ``BENCH=e2e``; after a warm-up, an open-loop POST
every 1/BENCH_RATE s for BENCH_RATE_SECONDS: CPU per declaration per process, the
machine's share busy, and submit → lane p50/p99. Settings pass through the environment
(``ROUTING_CONSUMER_FETCH_MAX_WAIT_MS=0 make bench BENCH=rate``).

Knobs: BENCH_RATE (declarations/s, default half of ``e2e.declarations_per_s`` in
.bench/results.json, else 25), BENCH_RATE_SECONDS (30). Printed only: the figures of
record are e2e's."""

from __future__ import annotations

import asyncio
import os
import sys
import time

from tests.bench_parts import laneload
from tests.bench_parts.e2e import errors, latencies, metered_paced, run_tag
from tests.bench_parts.procstat import CpuMeter
from tests.bench_parts.soak import default_rate
from tests.bench_parts.stack import Stack, stack

SECONDS = float(os.environ.get("BENCH_RATE_SECONDS", "30"))
WARM_UP_SECONDS = 8.0


def _rate() -> float:
    if os.environ.get("BENCH_RATE"):
        return float(os.environ["BENCH_RATE"])
    return default_rate() or 25.0


async def run(bench: Stack, rate: float) -> tuple[laneload.Outcome, CpuMeter]:
    watcher = laneload.LaneWatcher(bench.cluster.kafka_bootstrap)
    await watcher.start()
    try:
        target = bench.declarations(run_tag(), prepare=int(rate * (SECONDS + WARM_UP_SECONDS)))
        await laneload.paced(target, watcher, rate=rate, seconds=WARM_UP_SECONDS)
        return await metered_paced(bench, target, watcher, rate=rate, seconds=SECONDS)
    finally:
        await watcher.stop()


def report(rate: float, outcome: laneload.Outcome, meter: CpuMeter) -> None:
    lanes = latencies(outcome)
    _, machine = meter.cores()
    lines = [
        f"{rate:.1f} declarations/s for {SECONDS:.0f} s (open loop, after {WARM_UP_SECONDS:.0f} s"
        f" of warm-up): {outcome.measured_lanes} laned{errors(outcome)}",
        f"submit → lane p50 {laneload.quantile(lanes, 0.5):.3f} s   "
        f"p99 {laneload.quantile(lanes, 0.99):.3f} s",
        f"machine busy {100 * machine / 2:.0f} % of its 2 cores",
        "CPU per declaration (ms):",
        *(
            f"  {name:<20} {ms:8.2f}"
            for name, ms in meter.ms_per(max(outcome.measured_lanes, 1)).items()
        ),
    ]
    sys.stdout.write("\n".join(lines) + "\n")


def main() -> None:
    started = time.monotonic()
    rate = _rate()
    with stack(bare=False) as bench:
        outcome, meter = asyncio.run(run(bench, rate))
    report(rate, outcome, meter)
    sys.stdout.write(f"rate took {time.monotonic() - started:.0f} s\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
