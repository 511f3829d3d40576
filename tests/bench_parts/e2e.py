"""``make bench BENCH=e2e``: the whole pipeline through the gateway on real Kafka and
PostgreSQL (every service a process), against a bare endpoint in the same run.

- sustained throughput: closed loops, each with one declaration in flight from its POST
  until its ``customs.lanes.v1`` event arrives; after a warm-up, lanes per second over
  SECONDS or MAX_COUNT lanes (``e2e.declarations_per_s``). Each loop waits for its lane, so
  too few of them bound the rate by their own wait rather than by the pipeline: the run
  starts with FIRST_SUBMITTERS and doubles them while the rate still grows by PLATEAU and
  every POST was taken (up to MAX_SUBMITTERS), and reports the last step that grew (its
  CPU too);
- the baseline: a bare FastAPI endpoint writing one row to PostgreSQL and producing one
  Kafka message (acks=all, idempotent), driven by the same generator the same way
  (``e2e.baseline_per_s``, ``e2e.ratio_to_baseline``);
- CPU per declaration during the sustained window, per process (each service, PostgreSQL
  with every backend, the Kafka broker, the load generator) and in total
  (``e2e.cpu_ms_per_declaration[.<process>]``);
- submit → lane latency at half the sustained rate, open loop (``e2e.p50/p95/p99_s_at_half_rate``).

Knobs (environment): BENCH_E2E_SUBMITTERS (a fixed count: no doubling), BENCH_E2E_SECONDS,
BENCH_E2E_LATENCY_SECONDS."""

from __future__ import annotations

import asyncio
import math
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tests.bench_parts import laneload, results
from tests.bench_parts.procstat import CpuMeter
from tests.bench_parts.stack import Stack, stack, wait_until_up

FIRST_SUBMITTERS = 64
# 256 loops still added 7 % over 128 on 28 Nov 2026; 1024 kept the pipeline's intake so
# long that some POSTs passed the gateway's upstream timeout (504s): the search ends there.
MAX_SUBMITTERS = 1024
PLATEAU = 1.05  # a doubling that adds less than 5 % is the pipeline's limit, not the loops'
PINNED_SUBMITTERS = int(os.environ.get("BENCH_E2E_SUBMITTERS", "0")) or None
SUBMITTERS = PINNED_SUBMITTERS or FIRST_SUBMITTERS  # the baseline's, and one-step runs'
WARM_UP = 5.0
SECONDS = float(os.environ.get("BENCH_E2E_SECONDS", "30"))
MAX_COUNT = 6000  # "a few thousand declarations or about 30 s"
BASELINE_SECONDS = 10.0
LATENCY_SECONDS = float(os.environ.get("BENCH_E2E_LATENCY_SECONDS", "20"))
IDLE_SECONDS = 5.0


@dataclass
class Sustained:
    outcome: laneload.Outcome
    cpu_ms: dict[str, float]
    cores: tuple[float, float]  # busy on average: the measured processes, the machine
    submitters: int = SUBMITTERS

    @property
    def rate(self) -> float:
        return self.outcome.rate


async def sustained(
    target: laneload.Target,
    watcher: laneload.LaneWatcher | None,
    pids: dict[str, int],
    *,
    seconds: float = SECONDS,
    submitters: int = SUBMITTERS,
    at_start: Callable[[], None] = lambda: None,
) -> Sustained:
    meter = CpuMeter(pids)

    def start() -> None:
        meter.start()
        at_start()

    outcome = await laneload.saturate(
        target,
        watcher,
        submitters=submitters,
        warm_up=WARM_UP,
        seconds=seconds,
        max_count=MAX_COUNT,
        at_start=start,
        at_end=meter.stop,
    )
    return Sustained(
        outcome, meter.ms_per(max(outcome.measured_lanes, 1)), meter.cores(), submitters
    )


async def metered_paced(
    bench: Stack,
    target: laneload.Target,
    watcher: laneload.LaneWatcher,
    *,
    rate: float,
    seconds: float,
) -> tuple[laneload.Outcome, CpuMeter]:
    """:func:`laneload.paced` with every process's CPU measured over it."""
    meter = CpuMeter(bench.processes())
    meter.start()
    outcome = await laneload.paced(target, watcher, rate=rate, seconds=seconds)
    meter.stop()
    return outcome, meter


def run_tag() -> str:
    return uuid.uuid4().hex[:8]


async def pipeline_sustained(
    bench: Stack,
    watcher: laneload.LaneWatcher,
    *,
    seconds: float = SECONDS,
    submitters: int = SUBMITTERS,
    at_start: Callable[[], None] = lambda: None,
) -> Sustained:
    """The closed-loop sustained phase on the declarations pipeline (bodies made first)."""
    expected = int((WARM_UP + seconds) * 400)  # enough for 400/s; more are made as they go
    target = bench.declarations(run_tag(), prepare=min(expected, MAX_COUNT + 2000))
    return await sustained(
        target,
        watcher,
        bench.processes(),
        seconds=seconds,
        submitters=submitters,
        at_start=at_start,
    )


async def pipeline_capacity(
    bench: Stack, watcher: laneload.LaneWatcher
) -> tuple[Sustained, list[Sustained]]:
    """The sustained rate where more declarations in flight stop adding lanes: the
    pipeline's capacity, not the closed loops'. Returns the step reported and every step."""
    if PINNED_SUBMITTERS is not None:
        only = await pipeline_sustained(bench, watcher, submitters=PINNED_SUBMITTERS)
        return only, [only]

    async def step(submitters: int) -> Sustained:
        if submitters != FIRST_SUBMITTERS:
            await asyncio.sleep(2.0)  # the closed loop leaves nothing queued; pools settle
        return await pipeline_sustained(bench, watcher, submitters=submitters)

    return await doubling_until_flat(step)


async def doubling_until_flat(
    measure: Callable[[int], Awaitable[Sustained]],
) -> tuple[Sustained, list[Sustained]]:
    """Measures with FIRST_SUBMITTERS, then twice as many while the rate grows by PLATEAU
    and nothing was refused, up to MAX_SUBMITTERS. Reports the last step that grew, not
    the fastest: a step that added less than the noise is no step of capacity, and the
    fastest of several runs would favour chance. Nor is a step whose POSTs were refused
    (503, 504) or whose lanes went missing: the load it carried was not the load sent."""
    steps = [await measure(FIRST_SUBMITTERS)]
    while steps[-1].submitters < MAX_SUBMITTERS and not errors(steps[-1].outcome):
        steps.append(await measure(2 * steps[-1].submitters))
        if errors(steps[-1].outcome) or steps[-1].rate < PLATEAU * steps[-2].rate:
            return steps[-2], steps
    return steps[-1], steps


def errors(outcome: laneload.Outcome) -> str:
    """The phase's failures in words; empty when there were none."""
    failed = Counter(outcome.failed)
    if not failed and not outcome.missing:
        return ""
    statuses = ", ".join(f"HTTP {status} x{n}" for status, n in sorted(failed.items()))
    return f"{sum(failed.values())} POSTs failed ({statuses}), {outcome.missing} lanes missing"


def latencies(outcome: laneload.Outcome) -> list[float]:
    return [latency for _, latency, _ in outcome.samples if latency is not None]


async def run(bench: Stack) -> dict[str, Any]:
    assert bench.bare is not None
    await wait_until_up("127.0.0.1", bench.bare_port)
    baseline_pids = {
        "bare endpoint": bench.bare.pid,
        "postgresql": bench.postmaster_pid,
        "kafka": bench.kafka_pid,
    }
    # What the system burns with no load (pollers, heartbeats, consumer fetches): part of
    # every declaration's CPU below, less of it per declaration the faster they go.
    idle = CpuMeter(bench.processes())
    idle.start()
    await asyncio.sleep(IDLE_SECONDS)
    idle.stop()
    baseline = await sustained(bench.baseline(), None, baseline_pids, seconds=BASELINE_SECONDS)

    watcher = laneload.LaneWatcher(bench.cluster.kafka_bootstrap)
    await watcher.start()
    try:
        loaded, steps = await pipeline_capacity(bench, watcher)
        await asyncio.sleep(2.0)  # the closed loop leaves nothing queued; let the pools settle
        half = loaded.rate / 2
        target = bench.declarations(run_tag(), prepare=int(half * LATENCY_SECONDS) + 1)
        # Batches are small at half the rate, so every hop pays its transaction and its
        # relay pass for fewer events: this is the CPU a declaration costs off the peak.
        paced, half_meter = await metered_paced(
            bench, target, watcher, rate=half, seconds=LATENCY_SECONDS
        )
    finally:
        await watcher.stop()
    return {
        "baseline": baseline,
        "loaded": loaded,
        "steps": steps,
        "paced": paced,
        "half": half,
        "half_cpu_ms": half_meter.ms_per(max(paced.measured_lanes, 1)),
        "half_cores": half_meter.cores(),
        "idle_ms_per_s": {name: used / IDLE_SECONDS * 1000 for name, used in idle.used.items()},
        "lanes": dict(watcher.lanes),
    }


def seen_lanes(lanes: dict[str, int]) -> str:
    """The lanes the watcher saw, e.g. ``green 6012, yellow 3``: every declaration of the
    run is the validly signed sample with its e-C/O, so anything but green is a finding."""
    return ", ".join(f"{lane} {count}" for lane, count in sorted(lanes.items())) or "none"


def report(figures: dict[str, Any]) -> None:
    baseline: Sustained = figures["baseline"]
    loaded: Sustained = figures["loaded"]
    paced: laneload.Outcome = figures["paced"]
    half: float = figures["half"]
    ratio = loaded.rate / baseline.rate
    lat = latencies(paced)
    p50, p95, p99 = (laneload.quantile(lat, q) for q in (0.5, 0.95, 0.99))
    out = sys.stdout
    steps = ", ".join(f"{step.submitters}: {step.rate:.1f}/s" for step in figures["steps"])
    for step in figures["steps"]:
        if errors(step.outcome):  # a step slowed by refusals is no measure of capacity
            sys.stdout.write(f"with {step.submitters} submitters: {errors(step.outcome)}\n")
    out.write(
        f"\nclosed loops, declarations per second by submitters: {steps}\n"
        f"{loaded.submitters} submitters reported; {loaded.outcome.measured_lanes} lanes in "
        f"{loaded.outcome.measured_seconds:.1f} s after a {WARM_UP:.0f} s warm-up\n"
        f"lanes seen over the run: {seen_lanes(figures['lanes'])}\n"
        f"{'baseline: bare POST (1 row + 1 Kafka message)':<52} {baseline.rate:8.1f} /s\n"
        f"{'declarations submitted to laned (sustained)':<52} {loaded.rate:8.1f} /s"
        "   (goal 250)\n"
        f"{'ratio to the baseline':<52} {ratio:8.3f}\n"
        f"closed-loop submit → lane p50 {laneload.quantile(latencies(loaded.outcome), 0.5):.3f} s "
        "(far above the half-rate p50 below: the submitters kept the pipeline saturated)\n"
        f"submit → lane at {half:.1f}/s (half rate, open loop, {len(lat)} declarations):\n"
        f"  p50 {p50:.3f} s   p95 {p95:.3f} s   p99 {p99:.3f} s   (goal p99 ≤ 1.0 s)\n"
        "CPU per declaration in the sustained window (ms):\n"
    )
    for name, value in loaded.cpu_ms.items():
        out.write(f"  {name:<40} {value:8.2f}\n")
    ours, machine = loaded.cores
    out.write(
        f"cores busy in the sustained window: {ours:.2f} by the processes above, {machine:.2f} "
        f"by the whole machine ({os.cpu_count()} cores; the rest is other work)\n"
    )
    out.write(f"CPU per declaration at the half rate ({half:.1f}/s; ms):\n")
    for name, value in figures["half_cpu_ms"].items():
        out.write(f"  {name:<40} {value:8.2f}\n")
    ours, machine = figures["half_cores"]
    out.write(
        f"cores busy at the half rate: {ours:.2f} by the processes above, "
        f"{machine:.2f} by the whole machine\n"
    )
    out.write(f"CPU with no load ({IDLE_SECONDS:.0f} s before the load; ms per second):\n")
    for name, value in figures["idle_ms_per_s"].items():
        out.write(f"  {name:<40} {value:8.2f}\n")
    out.write("CPU per request of the baseline (ms):\n")
    for name, value in baseline.cpu_ms.items():
        out.write(f"  {name:<40} {value:8.2f}\n")
    out.write("(the machine's two cores are shared with other work: figures vary between runs)\n")

    def figure(
        value: float, unit: str, baseline: float | None = None, ratio: float | None = None
    ) -> dict[str, Any]:
        return {
            "value": round(value, 4),
            "unit": unit,
            "baseline": None if baseline is None else round(baseline, 4),
            "ratio": None if ratio is None else round(ratio, 4),
        }

    merged = {
        "e2e.declarations_per_s": figure(loaded.rate, "per_s", baseline.rate, ratio),
        "e2e.baseline_per_s": figure(baseline.rate, "per_s"),
        "e2e.ratio_to_baseline": figure(ratio, "ratio"),
        "e2e.p50_s_at_half_rate": figure(p50, "s"),
        "e2e.p95_s_at_half_rate": figure(p95, "s"),
        "e2e.p99_s_at_half_rate": figure(p99, "s"),
        "e2e.cpu_ms_per_declaration": figure(
            loaded.cpu_ms["total"],
            "ms",
            baseline.cpu_ms["total"],
            loaded.cpu_ms["total"] / baseline.cpu_ms["total"],
        ),
    }
    for name, value in loaded.cpu_ms.items():
        if name != "total":
            merged[f"e2e.cpu_ms_per_declaration.{name}"] = figure(value, "ms")
    merged["e2e.cpu_ms_per_declaration_at_half_rate"] = figure(
        figures["half_cpu_ms"]["total"], "ms"
    )
    for name, value in figures["half_cpu_ms"].items():
        if name != "total":
            merged[f"e2e.cpu_ms_per_declaration_at_half_rate.{name}"] = figure(value, "ms")
    assert all(math.isfinite(f["value"]) for f in merged.values()), merged
    results.merge(merged)
    out.write(f"figures merged into {results.RESULTS}\n")


def main() -> None:
    started = time.monotonic()
    with stack(bare=True) as bench:
        figures = asyncio.run(run(bench))
    report(figures)
    sys.stdout.write(f"e2e took {time.monotonic() - started:.0f} s\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
