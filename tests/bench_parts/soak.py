"""``make soak``: SOAK_SECONDS (600) of declarations through the gateway at SOAK_RATE per
second (default: half of ``e2e.declarations_per_s`` in .bench/results.json, or half of a
short sustained run made first), open loop, as ``make bench BENCH=e2e``'s latency phase.

It reports, into ``.bench/soak.md`` and the ``soak.*`` figures of results.json:
- memory of each service, PostgreSQL (the postmaster and every backend) and the Kafka
  broker after the warm-up and at the end: RSS, PSS (shared pages shared out fairly) and
  "own" (the PSS of private mappings: shared-memory segments left out, so PostgreSQL's
  shared buffers, a cache that fills up to its configured size as the tables grow, do not
  count; heaps do), and the number of processes; the criterion is growth of own memory
  ≤ 10 %, for PostgreSQL that of its processes alive after the warm-up and at the end (a
  connection a pool opens later is new memory, not growth), with the connections at the
  end within the pools' sizes;
- submit → lane latency p50/p99 per minute, and the trend of p99 after the warm-up: the
  least-squares slope (ms per minute) and first against last minute; the criterion is no
  upward trend: the fitted line may rise over the run by at most 20 % of the mean
  per-minute p99 or 50 ms, whichever is larger (the machine's noise);
- errors: answers other than 2xx, declarations without a lane at the end (each is given
  LANE_WAIT_SECONDS), records in the dead-letter topics; the criterion is none.

Exits non-zero when a criterion fails. Not part of ``make bench`` nor CI (10 minutes)."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import statistics
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from customs_shared.events.catalog import TOPICS
from tests.bench_parts import laneload, pgwatch, procstat, results
from tests.bench_parts.e2e import pipeline_sustained, run_tag
from tests.bench_parts.stack import Stack, stack

SECONDS = float(os.environ.get("SOAK_SECONDS") or 600)
RATE = float(os.environ.get("SOAK_RATE") or 0)  # 0: from results.json or measured
WARM_UP = min(60.0, SECONDS / 5)
WINDOW = 60.0
MAX_GROWTH_PCT = 10.0
TREND_SHARE, TREND_FLOOR_MS = 0.20, 50.0
REPORT = results.RESULTS.parent / "soak.md"


def default_rate() -> float | None:
    """Half the sustained rate last recorded by ``make bench BENCH=e2e``."""
    if not results.RESULTS.exists():
        return None
    figure = json.loads(results.RESULTS.read_text()).get("e2e.declarations_per_s")
    return None if figure is None else float(figure["value"]) / 2


def memory(bench: Stack) -> dict[str, procstat.Memory]:
    return {name: procstat.tree_memory(pid) for name, pid in bench.processes().items()}


async def dead_letters(bootstrap: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topic.dlq, p)
            for topic in TOPICS
            for p in (consumer.partitions_for_topic(topic.dlq) or set())
        ]
        if not partitions:  # metadata is fetched lazily
            await consumer.topics()
            partitions = [
                TopicPartition(topic.dlq, p)
                for topic in TOPICS
                for p in (consumer.partitions_for_topic(topic.dlq) or set())
            ]
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


@dataclass
class Minute:
    index: int
    count: int
    p50_s: float
    p99_s: float
    warm_up: bool


def minutes(outcome: laneload.Outcome) -> list[Minute]:
    by_window: dict[int, list[float]] = {}
    for sent, latency, _ in outcome.samples:
        if latency is not None:
            by_window.setdefault(int(sent // WINDOW), []).append(latency)
    return [
        Minute(
            index,
            len(values),
            laneload.quantile(values, 0.5),
            laneload.quantile(values, 0.99),
            (index + 1) * WINDOW <= WARM_UP,
        )
        for index, values in sorted(by_window.items())
    ]


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x; 0 for fewer than two points."""
    if len(points) < 2:
        return 0.0
    xs, ys = [x for x, _ in points], [y for _, y in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    denominator = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in points) / denominator if denominator else 0.0


async def measure(bench: Stack, rate: float) -> dict[str, Any]:
    watcher = laneload.LaneWatcher(bench.cluster.kafka_bootstrap)
    await watcher.start()
    tables = pgwatch.Watch(bench.postgres, bench.databases, WINDOW)
    snapshots: dict[str, dict[str, procstat.Memory]] = {}
    backends: dict[str, dict[int, pgwatch.Backend]] = {}
    postmaster: dict[str, procstat.Memory] = {}
    cpu: list[dict[str, float]] = []

    def snapshot(moment: str) -> None:
        snapshots[moment] = memory(bench)
        backends[moment] = pgwatch.processes(bench.postmaster_pid)
        postmaster[moment] = procstat.process_memory(bench.postmaster_pid)

    async def sample_cpu() -> None:
        while True:
            sample = {
                name: procstat.tree_cpu_seconds(pid) for name, pid in bench.processes().items()
            }
            sample["load-generator"] = procstat.own_cpu_seconds()
            sample["machine"] = procstat.machine_busy_seconds()
            cpu.append(sample)
            await asyncio.sleep(WINDOW)

    async def after_warm_up() -> None:
        await asyncio.sleep(WARM_UP)
        snapshot("warm")

    sampler: asyncio.Task[None] | None = None
    try:
        if not rate:
            sys.stdout.write("no e2e rate recorded: measuring the sustained rate first\n")
            rate = (await pipeline_sustained(bench, watcher, seconds=15)).rate / 2
            await asyncio.sleep(2.0)
        sys.stdout.write(f"soak: {SECONDS:.0f} s at {rate:.1f} declarations/s\n")
        sys.stdout.flush()
        target = bench.declarations(run_tag())
        warm = asyncio.create_task(after_warm_up())
        tables.start()
        sampler = asyncio.create_task(sample_cpu())
        outcome = await laneload.paced(target, watcher, rate=rate, seconds=SECONDS)
        await warm
        snapshot("end")
    finally:
        if sampler is not None:
            sampler.cancel()
        await tables.stop()
        await watcher.stop()
    return {
        "rate": rate,
        "outcome": outcome,
        "memory": snapshots,
        "backends": backends,
        "postmaster": postmaster,
        "tables": tables.samples,
        "cpu": cpu,
        "dlq": await dead_letters(bench.cluster.kafka_bootstrap),
        "lanes": dict(watcher.lanes),
    }


def judged(before: procstat.Memory, after: procstat.Memory) -> tuple[float, float]:
    """The memory figures the growth criterion reads: own memory, RSS where unreadable."""
    if before.own_mb is not None and after.own_mb is not None:
        return before.own_mb, after.own_mb
    return before.rss_mb, after.rss_mb


def cpu_lines(figures: dict[str, Any]) -> list[str]:
    """CPU seconds each process used in each minute of sending: which one works harder
    as the run goes on, when latency rises."""
    samples: list[dict[str, float]] = figures.get("cpu", [])
    if len(samples) < 2:
        return []
    names = list(samples[0])
    lines = [
        "",
        "## CPU seconds per minute of sending, by process",
        "",
        "| minute | " + " | ".join(names) + " |",
        "|---:|" + "---:|" * len(names),
    ]
    for index, (before, after) in enumerate(itertools.pairwise(samples)):
        used = " | ".join(f"{after[n] - before[n]:.1f}" for n in names)
        lines.append(f"| {index + 1} | {used} |")
    return lines


def postgresql_throughout(figures: dict[str, Any]) -> tuple[float, float] | None:
    """Own memory (MB) after the warm-up and at the end of PostgreSQL's processes that
    lived through the run, the postmaster included: a leak shows there. A backend a pool
    opened later is new memory, not growth; their number is bounded by the pools' sizes
    (:func:`connections_lines`)."""
    backends = figures.get("backends", {})
    warm, end = backends.get("warm"), backends.get("end")
    if not warm or not end:
        return None
    alive = set(warm) & set(end)
    postmaster: dict[str, procstat.Memory] = figures["postmaster"]
    before = postmaster["warm"].own_mb or 0.0
    after = postmaster["end"].own_mb or 0.0
    before += sum(warm[pid].own_mb for pid in alive)
    after += sum(end[pid].own_mb for pid in alive)
    return before, after


def connections_lines(figures: dict[str, Any], failures: list[str]) -> list[str]:
    backends = figures.get("backends", {})
    if not backends:
        return []
    warm: dict[int, pgwatch.Backend] = backends.get("warm", {})
    end: dict[int, pgwatch.Backend] = backends.get("end", {})
    clients = [pid for pid, backend in end.items() if backend.client]
    opened = [pid for pid in clients if pid not in warm]
    closed = [pid for pid, backend in warm.items() if backend.client and pid not in end]
    cap = pgwatch.pool_caps()
    if len(clients) > cap:
        failures.append(f"{len(clients)} database connections (> {cap}, the pools' sizes)")
    new_mb = sum(end[pid].own_mb for pid in opened)
    return [
        "",
        f"PostgreSQL's growth is that of its processes alive after the warm-up and at the "
        f"end (the postmaster and {len(set(warm) & set(end))} others). Connections: "
        f"{len(clients)} at the end, {len(opened)} opened after the warm-up ({new_mb:.1f} MB "
        f"own) and {len(closed)} closed; the services' pools allow {cap}"
        f"{'' if len(clients) <= cap else ' ✗'}.",
    ]


def database_lines(figures: dict[str, Any]) -> list[str]:
    """PostgreSQL's backends by kind and the tables that grew most: where a memory or
    latency trend comes from."""
    lines = [
        "",
        "## PostgreSQL: own memory by process kind (MB, count) after the warm-up and at the end",
        "",
        "| processes | warm | end |",
        "|---|---:|---:|",
    ]
    warm = pgwatch.by_kind(figures.get("backends", {}).get("warm", {}))
    end = pgwatch.by_kind(figures.get("backends", {}).get("end", {}))
    for kind in sorted(set(warm) | set(end)):
        (wc, wm), (ec, em) = warm.get(kind, (0, 0.0)), end.get(kind, (0, 0.0))
        lines.append(f"| {kind} | {wm:.1f} ({wc}) | {em:.1f} ({ec}) |")
    samples: list[tuple[float, list[pgwatch.TableSample]]] = figures.get("tables", [])
    if len(samples) >= 2:
        first = {(t.database, t.table): t for t in samples[0][1]}
        last = samples[-1][1]
        grown = sorted(
            last,
            key=lambda t: t.size_mb - getattr(first.get((t.database, t.table)), "size_mb", 0),
            reverse=True,
        )[:12]
        lines += [
            "",
            f"## Tables that grew most, from {samples[0][0]:.0f} s to {samples[-1][0]:.0f} s",
            "",
            "| database | table | live rows | dead rows | size MB | autovacuums |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for t in grown:
            f = first.get((t.database, t.table))
            lines.append(
                f"| {t.database} | {t.table} | {f.live if f else 0} → {t.live} | "
                f"{f.dead if f else 0} → {t.dead} | {f.size_mb if f else 0:.1f} → "
                f"{t.size_mb:.1f} | {t.autovacuums} |"
            )
    return lines


def judge(figures: dict[str, Any]) -> tuple[str, dict[str, dict[str, Any]], list[str]]:
    """The markdown report, the results.json figures and the failed criteria."""
    outcome: laneload.Outcome = figures["outcome"]
    warm: dict[str, procstat.Memory] = figures["memory"]["warm"]
    end: dict[str, procstat.Memory] = figures["memory"]["end"]
    failures: list[str] = []
    out: dict[str, dict[str, Any]] = {}

    def figure(name: str, value: float, unit: str) -> None:
        out[f"soak.{name}"] = {
            "value": round(value, 4),
            "unit": unit,
            "baseline": None,
            "ratio": None,
        }

    lines = [
        "# Soak",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {SECONDS:.0f} s at {figures['rate']:.1f} "
        f"declarations/s through the gateway (open loop), warm-up {WARM_UP:.0f} s. "
        f"{len(outcome.samples)} declarations sent; lanes {figures['lanes']}.",
        "",
        "## Memory (MB) after the warm-up and at the end",
        "",
        "| process | processes | RSS warm | RSS end | PSS warm | PSS end | own warm | own end "
        "| growth of own |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    throughout = postgresql_throughout(figures)
    for name in end:
        before, after = warm[name], end[name]
        pair = throughout if name == "postgresql" and throughout else judged(before, after)
        growth = (pair[1] - pair[0]) / pair[0] * 100
        figure(f"memory_growth_pct.{name}", growth, "percent")
        figure(f"memory_mb_end.{name}", pair[1], "MB")
        verdict = "" if growth <= MAX_GROWTH_PCT else " ✗"
        if verdict:
            failures.append(f"{name}'s memory grew {growth:.1f} % (> {MAX_GROWTH_PCT:.0f} %)")

        def mb(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.1f}"

        lines.append(
            f"| {name} | {before.processes} → {after.processes} | {mb(before.rss_mb)} | "
            f"{mb(after.rss_mb)} | {mb(before.pss_mb)} | "
            f"{mb(after.pss_mb)} | {mb(before.own_mb)} | {mb(after.own_mb)} | "
            f"{growth:+.1f} %{verdict} |"
        )

    windows = minutes(outcome)
    lines += connections_lines(figures, failures)
    lines += [
        "",
        "PostgreSQL is the postmaster and all its backends (RSS counts the shared buffers "
        "once per backend; PSS shares them out). Own = PSS of private mappings, leaving out "
        "shared-memory segments (PostgreSQL's shared buffers: a cache that fills up to its "
        "configured size as the tables grow). Criterion: own memory grows ≤ "
        f"{MAX_GROWTH_PCT:.0f} % (PostgreSQL: its processes alive throughout), and the "
        "connections stay within the pools' sizes.",
        "",
        "## Submit → lane latency per minute (by scheduled send time)",
        "",
        "| minute | lanes | p50 s | p99 s |",
        "|---:|---:|---:|---:|",
    ]
    for minute in windows:
        mark = " (warm-up)" if minute.warm_up else ""
        lines.append(
            f"| {minute.index + 1}{mark} | {minute.count} | {minute.p50_s:.3f} | "
            f"{minute.p99_s:.3f} |"
        )
    measured = [m for m in windows if not m.warm_up] or windows
    p99_slope = slope([(m.index, m.p99_s * 1000) for m in measured])
    rise = p99_slope * (len(measured) - 1)
    mean_p99 = statistics.fmean(m.p99_s * 1000 for m in measured) if measured else 0.0
    allowed = max(TREND_SHARE * mean_p99, TREND_FLOOR_MS)
    all_latencies = [lat for _, lat, _ in outcome.samples if lat is not None]
    first, last = (measured[0], measured[-1]) if measured else (None, None)
    figure("rate_per_s", figures["rate"], "per_s")
    figure("seconds", SECONDS, "s")
    figure("p50_s", laneload.quantile(all_latencies, 0.5), "s")
    figure("p99_s", laneload.quantile(all_latencies, 0.99), "s")
    figure("p99_slope_ms_per_min", p99_slope, "ms_per_min")
    if first is not None and last is not None:
        figure("p99_first_minute_s", first.p99_s, "s")
        figure("p99_last_minute_s", last.p99_s, "s")
    trend_ok = rise <= allowed
    if not trend_ok:
        failures.append(f"p99 rises {rise:.0f} ms over the run (> {allowed:.0f} ms allowed)")
    lines += [
        "",
        f"p99 after the warm-up: least-squares slope {p99_slope:+.1f} ms/min "
        f"(fitted rise over the run {rise:+.0f} ms, allowed {allowed:.0f} ms: "
        f"{'no upward trend' if trend_ok else 'UPWARD TREND'}); first minute "
        f"{first.p99_s if first else float('nan'):.3f} s, last minute "
        f"{last.p99_s if last else float('nan'):.3f} s. Whole run: p50 "
        f"{laneload.quantile(all_latencies, 0.5):.3f} s, p99 "
        f"{laneload.quantile(all_latencies, 0.99):.3f} s.",
    ]

    lines += cpu_lines(figures)
    lines += database_lines(figures)

    failed = Counter(outcome.failed)
    http_errors = sum(failed.values())
    errors = http_errors + outcome.missing + figures["dlq"]
    figure("http_errors", http_errors, "count")
    figure("lanes_missing", outcome.missing, "count")
    figure("dlq_records", figures["dlq"], "count")
    figure("errors", errors, "count")
    if errors:
        failures.append(f"{errors} errors")
    statuses = ", ".join(f"HTTP {s} x{n}" for s, n in sorted(failed.items())) or "none"
    lines += [
        "",
        "## Errors",
        "",
        f"- answers other than 2xx: {http_errors} ({statuses})",
        f"- declarations without a lane at the end: {outcome.missing}",
        f"- records in the dead-letter topics: {figures['dlq']}",
        "",
        "## Verdict",
        "",
        ("PASSED" if not failures else "FAILED: " + "; ".join(failures)),
        "",
    ]
    return "\n".join(lines), out, failures


def main() -> None:
    rate = RATE or default_rate() or 0.0
    # The broker's JVM heap is bounded (-Xmx) but grows toward its bound between
    # collections: committed and touched at start, the broker's memory growth measures
    # what is not the heap filling up to the size it was given.
    os.environ.setdefault("KAFKA_HEAP_OPTS", "-Xms512m -Xmx512m -XX:+AlwaysPreTouch")
    with stack(bare=False) as bench:
        figures = asyncio.run(measure(bench, rate))
    text, merged, failures = judge(figures)
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(text)
    results.merge(merged)
    sys.stdout.write(f"\n{text}\nreport: {REPORT}; figures merged into {results.RESULTS}\n")
    sys.stdout.flush()
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
