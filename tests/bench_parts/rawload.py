"""The benchmarks' load generator: a raw asyncio HTTP/1.1 keep-alive client, one request
in flight per connection. About 0.04 ms of CPU per request, where httpx costs 1-3 ms and
would be measured instead of the service (both share the machine's two cores)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence

from tests.bench_parts import procstat

CONNECTIONS = 16
WARM_UP_SECONDS = 3.0

# Where a connection sends its request, over and over: host, port, the request's bytes.
Target = tuple[str, int, bytes]


def request_bytes(
    method: str, host: str, port: int, path: str, headers: Mapping[str, str], body: bytes = b""
) -> bytes:
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _connection(
    host: str, port: int, request: bytes, until: float, latencies: list[float], bad: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status >= 300:
                bad.append(status)
    finally:
        writer.close()


async def load(
    targets: Sequence[Target], seconds: float, connections: int = CONNECTIONS
) -> tuple[list[float], list[int]]:
    """Latencies (s) of every answered request, and the statuses of the failed ones. The
    connections are dealt out to ``targets`` in turn, as a Kubernetes Service spreads its
    clients over the pods behind it."""
    latencies: list[float] = []
    bad: list[int] = []
    until = time.perf_counter() + seconds
    await asyncio.gather(
        *(
            _connection(*targets[n % len(targets)], until, latencies, bad)
            for n in range(connections)
        )
    )
    return latencies, bad


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (seconds), in milliseconds."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


async def measure(
    targets: Sequence[Target],
    seconds: float,
    connections: int = CONNECTIONS,
    meter: procstat.CpuMeter | None = None,
) -> dict[str, float]:
    """Rate, p50/p99 and the load generator's own CPU per request, after a warm-up;
    ``meter``, if given, runs over the measured window only (not the warm-up)."""
    await load(targets, WARM_UP_SECONDS, connections)
    cpu_before = time.process_time()
    if meter is not None:
        meter.start()
    latencies, bad = await load(targets, seconds, connections)
    if meter is not None:
        meter.stop()
    if bad:
        raise RuntimeError(f"{len(bad)} requests failed, e.g. HTTP {bad[0]}")
    return {
        "requests": len(latencies),
        "per_s": len(latencies) / seconds,
        "p50_ms": pct(latencies, 0.5),
        "p99_ms": pct(latencies, 0.99),
        "client_cpu_ms": (time.process_time() - cpu_before) / len(latencies) * 1000,
    }
