"""The benchmarks' arithmetic and /proc readings (tests/bench_parts): what they report must be
right even when nobody reads the code again."""

from __future__ import annotations

import asyncio
import json
import mmap
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from tests.bench_parts import e2e, laneload, pgwatch, procstat, profile, rawload, soak


def _burn(seconds: float) -> None:
    until = time.process_time() + seconds
    while time.process_time() < until:
        pass


def test_a_reaped_child_s_cpu_counts_in_its_parent_s_tree() -> None:
    before = procstat.tree_cpu_seconds(os.getpid())
    pid = os.fork()
    if pid == 0:  # the child: burn, then leave without cleanup
        _burn(0.3)
        os._exit(0)
    os.waitpid(pid, 0)
    assert procstat.tree_cpu_seconds(os.getpid()) - before >= 0.25


def test_own_cpu_leaves_children_out() -> None:
    before = procstat.own_cpu_seconds()
    pid = os.fork()
    if pid == 0:
        _burn(0.3)
        os._exit(0)
    os.waitpid(pid, 0)
    assert procstat.own_cpu_seconds() - before < 0.2


def test_memory_of_a_process_and_its_tree_is_read() -> None:
    own = procstat.process_memory(os.getpid())
    assert own.rss_mb > 1
    assert own.pss_mb is not None
    assert own.own_mb is not None
    assert 0 < own.own_mb <= own.pss_mb <= own.rss_mb
    # The tree is this process and its children (a suite's cluster, when there is one).
    tree = procstat.tree_memory(os.getpid())
    assert tree.processes >= 1 + len(procstat.children(os.getpid()))
    assert tree.rss_mb >= own.rss_mb * 0.9


def test_quantile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert laneload.quantile(values, 0.5) == 51.0  # round(49.5) = 50 → the 51st value
    assert laneload.quantile(values, 0.99) == 99.0
    assert laneload.quantile([3.0, 1.0, 2.0], 0.0) == 1.0


def test_least_squares_slope() -> None:
    assert soak.slope([(0, 100.0), (1, 110.0), (2, 120.0)]) == pytest.approx(10.0)
    assert soak.slope([(0, 5.0), (1, 1.0), (2, 5.0)]) == pytest.approx(0.0)
    assert soak.slope([(0, 5.0)]) == 0.0


def _verdict(
    latency: Callable[[float], float],
    *,
    grown: float = 1.0,
    failed: int = 0,
    missing: int = 0,
    dlq: int = 0,
) -> list[str]:
    samples: list[tuple[float, float | None, int]] = [
        (t / 10, latency(t / 10), 202) for t in range(int(soak.SECONDS * 10))
    ]
    samples += [(1.0, None, 502)] * failed + [(1.0, None, 202)] * missing
    warm = procstat.Memory(200.0, 100.0, 50.0)
    end = procstat.Memory(200.0 * grown, 100.0 * grown, 50.0 * grown)
    _, figures, failures = soak.judge(
        {
            "outcome": laneload.Outcome(samples=samples),
            "memory": {"warm": {"gateway": warm}, "end": {"gateway": end}},
            "dlq": dlq,
            "rate": 10.0,
            "lanes": {"green": len(samples)},
        }
    )
    assert figures["soak.errors"]["value"] == failed + missing + dlq
    return failures


def test_soak_passes_a_flat_run_without_errors() -> None:
    assert _verdict(lambda t: 0.2 + (t % 7) / 100) == []


def test_soak_fails_a_rising_latency() -> None:
    failures = _verdict(lambda t: 0.2 + t / 100)  # +0.6 s per minute
    assert len(failures) == 1
    assert "p99 rises" in failures[0]


def test_soak_fails_memory_growth_and_errors() -> None:
    failures = _verdict(lambda t: 0.2, grown=1.2, failed=2, missing=1, dlq=1)
    assert any("gateway's memory grew 20.0 %" in f for f in failures)
    assert any("4 errors" in f for f in failures)


def test_soak_judges_own_memory_then_rss() -> None:
    warm, end = procstat.Memory(500.0, 100.0, 40.0), procstat.Memory(700.0, 130.0, 41.0)
    assert soak.judged(warm, end) == (40.0, 41.0)
    unreadable = procstat.Memory(500.0, None, None), procstat.Memory(520.0, None, None)
    assert soak.judged(*unreadable) == (500.0, 520.0)


def _postgresql(warm: dict[int, float], end: dict[int, float]) -> list[str]:
    """The soak's verdict on PostgreSQL whose client backends (pid → own MB) are these."""

    def backends(own: dict[int, float]) -> dict[int, pgwatch.Backend]:
        return {pid: pgwatch.Backend("backends of db", True, mb) for pid, mb in own.items()}

    def tree(own: dict[int, float]) -> procstat.Memory:
        return procstat.Memory(1000.0, 500.0, 10.0 + sum(own.values()), len(own) + 1)

    _, _, failures = soak.judge(
        {
            "outcome": laneload.Outcome(samples=[(1.0, 0.2, 202)] * 100),
            "memory": {"warm": {"postgresql": tree(warm)}, "end": {"postgresql": tree(end)}},
            "backends": {"warm": backends(warm), "end": backends(end)},
            "postmaster": dict.fromkeys(("warm", "end"), procstat.Memory(100.0, 20.0, 10.0)),
            "dlq": 0,
            "rate": 10.0,
            "lanes": {"green": 100},
        }
    )
    return failures


def test_soak_judges_postgresql_by_the_processes_that_lived_through_it() -> None:
    steady = dict.fromkeys(range(10), 5.0)
    # A pool opening five more connections is new memory, not growth...
    assert _postgresql(steady, steady | dict.fromkeys(range(10, 15), 5.0)) == []
    # ...but the same backends growing is.
    failures = _postgresql(steady, dict.fromkeys(range(10), 6.0))
    assert failures == ["postgresql's memory grew 16.7 % (> 10 %)"]
    # More connections than the pools allow fail, however little memory they take.
    crowd = dict.fromkeys(range(pgwatch.pool_caps() + 1), 0.1)
    assert any("database connections" in f for f in _postgresql(crowd, crowd))


def test_shared_memory_is_not_own_memory() -> None:
    shared = mmap.mmap(-1, 64 * 2**20, flags=mmap.MAP_SHARED)
    before = procstat.tree_memory(os.getpid())
    shared.write(b"x" * (64 * 2**20))  # touch every page
    after = procstat.tree_memory(os.getpid())
    shared.close()
    assert (after.pss_mb or 0) - (before.pss_mb or 0) > 60
    assert after.own_mb is not None
    assert before.own_mb is not None
    assert after.own_mb - before.own_mb < 8


def test_the_machine_s_busy_time_includes_this_process() -> None:
    before = procstat.machine_busy_seconds()
    _burn(0.3)
    assert procstat.machine_busy_seconds() - before >= 0.25


def _closed_loops(
    rates: dict[int, float], refused: frozenset[int] = frozenset()
) -> Callable[[int], Awaitable[e2e.Sustained]]:
    """Steps at these rates; those in ``refused`` had one POST answered 504."""

    async def measure(submitters: int) -> e2e.Sustained:
        outcome = laneload.Outcome(
            samples=[(0.0, None, 504)] if submitters in refused else [(0.0, 1.0, 202)],
            measured_seconds=10.0,
            measured_lanes=int(rates[submitters] * 10),
        )
        return e2e.Sustained(outcome, {"total": 1000 / rates[submitters]}, (1.0, 1.0), submitters)

    return measure


@pytest.mark.parametrize(
    ("rates", "reported", "tried"),
    [
        # The loops bounded the rate at 64; 256 adds less than the noise.
        ({64: 119.0, 128: 172.5, 256: 178.0}, 128, [64, 128, 256]),
        # The pipeline was the limit from the start (a slower second step too).
        ({64: 205.0, 128: 199.0}, 64, [64, 128]),
        # Still growing at 256, flat at 512.
        (
            {64: 110.0, 128: 136.0, 256: 147.0, 512: 158.0, 1024: 162.0},
            512,
            [64, 128, 256, 512, 1024],
        ),
        # Still growing at the largest count.
        (
            {64: 50.0, 128: 90.0, 256: 160.0, 512: 250.0, 1024: 400.0},
            1024,
            [64, 128, 256, 512, 1024],
        ),
    ],
)
async def test_submitters_double_until_the_rate_stops_growing(
    rates: dict[int, float], reported: int, tried: list[int]
) -> None:
    chosen, steps = await e2e.doubling_until_flat(_closed_loops(rates))
    assert chosen.submitters == reported
    assert chosen.rate == pytest.approx(rates[reported])
    assert [step.submitters for step in steps] == tried


@pytest.mark.parametrize(
    ("rates", "refused", "reported", "tried"),
    [
        # More lanes at 1024, but some POSTs passed the gateway's timeout: 512 is the capacity.
        (
            {64: 110.0, 128: 136.0, 256: 147.0, 512: 158.0, 1024: 170.0},
            {1024},
            512,
            [64, 128, 256, 512, 1024],
        ),
        # Refusals from the start: nothing to double, the first step is reported as it is.
        ({64: 90.0, 128: 180.0}, {64}, 64, [64]),
    ],
)
async def test_a_step_with_refused_posts_ends_the_search(
    rates: dict[int, float], refused: set[int], reported: int, tried: list[int]
) -> None:
    chosen, steps = await e2e.doubling_until_flat(_closed_loops(rates, frozenset(refused)))
    assert chosen.submitters == reported
    assert chosen.rate == pytest.approx(rates[reported])
    assert [step.submitters for step in steps] == tried


async def test_the_raw_load_deals_its_connections_out_to_every_target() -> None:
    """Replicas behind one Service: each target gets its share of the connections, and
    each connection keeps sending to its own target."""
    served: dict[int, int] = {}
    connected: dict[int, int] = {}

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        port = writer.get_extra_info("sockname")[1]
        connected[port] = connected.get(port, 0) + 1
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                served[port] = served.get(port, 0) + 1
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    servers = [await asyncio.start_server(answer, "127.0.0.1", 0) for _ in range(3)]
    try:
        ports = [server.sockets[0].getsockname()[1] for server in servers]
        targets = [
            ("127.0.0.1", port, rawload.request_bytes("GET", "127.0.0.1", port, "/", {}))
            for port in ports
        ]
        latencies, bad = await rawload.load(targets, 0.3, connections=6)
    finally:
        for server in servers:
            server.close()
    assert not bad
    assert connected == dict.fromkeys(ports, 2)
    assert sorted(served) == sorted(ports)
    assert sum(served.values()) == len(latencies) > 0


def test_the_e2e_report_names_every_lane_it_saw() -> None:
    # All green is what the signed sample with its e-C/O should give; any other lane shows.
    assert e2e.seen_lanes({"yellow": 3, "green": 6012}) == "green 6012, yellow 3"
    assert e2e.seen_lanes({}) == "none"


def test_sampled_time_counts_every_thread_s_samples(tmp_path: Path) -> None:
    speedscope = tmp_path / "svc.speedscope.json"
    speedscope.write_text(
        json.dumps(
            {
                "shared": {"frames": [{"name": "f"}]},
                "profiles": [
                    {"samples": [[0]] * 30, "weights": [1] * 30},
                    {"samples": [[0]] * 20, "weights": [1] * 20},
                ],
            }
        )
    )
    assert profile.sampled_seconds(speedscope) == 50 / profile.RATE
