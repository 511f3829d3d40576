"""``make bench BENCH=ipr``: declaration items screened per second of CPU on one core against
1,000, 10,000 and 100,000 active records in the in-memory index, and precision and recall
on the labelled set (tests/support/ipr_labelled.py).

Figures: ``ipr.items_per_s_100k`` (goal >= 20,000), ``ipr.slowdown_1k_to_100k`` (goal <= 2.0),
``ipr.precision`` and ``ipr.recall``."""

from __future__ import annotations

import os
import random
import string
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal

from customs_shared.events.schemas import ItemFacts
from ipr_svc.screening.index import ActiveRecord, RecordIndex
from ipr_svc.screening.matching import build_index
from tests.bench_parts import results
from tests.support.ipr_labelled import CASES, RECORDS, evaluate

SIZES = (1_000, 10_000, 100_000)
SECONDS = 5.0
HEADINGS = [f"{chapter:02d}{n:02d}" for chapter in range(1, 98) for n in range(1, 13)]
ITEMS = 20_000
VOCABULARY = 5_000  # distinct words in goods descriptions
CATALOGUE = 5_000  # distinct goods descriptions: trade declares the same goods again and again


def synthetic_records(n: int, rng: random.Random) -> list[ActiveRecord]:
    """The labelled marks plus invented ones, 2-3 aliases each over 1-4 headings."""

    def word() -> str:
        return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(5, 10))).title()

    made = list(RECORDS)
    while len(made) < n:
        brand = word()
        made.append(
            ActiveRecord(
                record_id=f"s{len(made)}",
                holder=f"H{len(made) % 500}",
                brands=(brand, f"{brand} {word()}", *((word(),) if rng.random() < 0.5 else ())),
                hs_headings=frozenset(rng.sample(HEADINGS, rng.randint(1, 4))),
            )
        )
    return made


def workload(records: list[ActiveRecord], rng: random.Random) -> list[ItemFacts]:
    """Items as declared: descriptions from a catalogue of CATALOGUE goods, each of 4-8
    words from VOCABULARY words and a number; a fifth of the items carry a recorded brand
    (half of those misspelt); and the labelled cases."""
    vocabulary = [
        "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 10)))
        for _ in range(VOCABULARY)
    ]
    catalogue = [
        " ".join([*rng.choices(vocabulary, k=rng.randint(3, 7)), str(rng.randint(1, 500))])
        for _ in range(CATALOGUE)
    ]
    items = [case.item() for case in CASES]
    while len(items) < ITEMS:
        record = rng.choice(records)
        brand: str | None = None
        if rng.random() < 0.2:
            brand = record.brands[0]
            if rng.random() < 0.5:
                cut = rng.randrange(len(brand))
                brand = brand[:cut] + brand[cut + 1 :]
        heading = rng.choice(sorted(record.hs_headings) or HEADINGS)
        items.append(
            ItemFacts(
                line=1,
                hs_code=heading + "1000",
                description=rng.choice(catalogue),
                origin_country="CN",
                quantity=Decimal(1),
                unit="PCE",
                customs_value=Decimal(1),
                brand=brand,
            )
        )
    return items


def items_per_s(index: RecordIndex, items: list[ItemFacts]) -> tuple[float, float, int]:
    """Items per CPU second on the first pass (cold: nothing cached yet), then in the
    steady state."""
    cpu_started = time.thread_time()
    for item in items:
        index.match([item], office="01B1", importer=None)
    cold = len(items) / (time.thread_time() - cpu_started)
    done, started, cpu_started = 0, time.perf_counter(), time.thread_time()
    while time.perf_counter() - started < SECONDS:
        for item in items:
            index.match([item], office="01B1", importer=None)
        done += len(items)
    return cold, done / (time.thread_time() - cpu_started), done


def main() -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the figure says
    rng = random.Random(8)
    everything = synthetic_records(max(SIZES), rng)
    rates: dict[int, tuple[float, int, float, float]] = {}
    for size in SIZES:
        records = everything[:size]
        built = time.process_time()
        index = build_index(records)
        build_s = time.process_time() - built
        cold, rate, n = items_per_s(index, workload(records, random.Random(size)))
        rates[size] = (rate, n, build_s, cold)
    scores = evaluate(build_index(RECORDS))
    slowdown = rates[SIZES[0]][0] / rates[SIZES[-1]][0]
    now = datetime.now(UTC).isoformat()
    results.merge(
        {
            "ipr.items_per_s_100k": {
                "value": round(rates[100_000][0], 1), "unit": "per_s", "baseline": 20_000.0,
                "ratio": round(rates[100_000][0] / 20_000, 4), "measured_at": now,
            },
            "ipr.slowdown_1k_to_100k": {
                "value": round(slowdown, 3), "unit": "ratio", "baseline": 2.0,
                "ratio": round(slowdown / 2.0, 4), "measured_at": now,
            },
            "ipr.items_per_s_100k_cold": {
                "value": round(rates[100_000][3], 1), "unit": "per_s", "baseline": None,
                "ratio": None, "measured_at": now,
            },
            "ipr.precision": {
                "value": round(scores.precision, 4), "unit": "ratio", "baseline": None,
                "ratio": None, "measured_at": now,
            },
            "ipr.recall": {
                "value": round(scores.recall, 4), "unit": "ratio", "baseline": None,
                "ratio": None, "measured_at": now,
            },
        }
    )  # fmt: skip
    for size, (rate, n, build_s, cold) in rates.items():
        label = f"items screened, {size:,} active records, 1 core CPU"
        print(f"{label:<52} {rate:9.1f} /s (n={n}, index built in {build_s:.1f} s)")  # noqa: T201
        print(f"{'  first pass, nothing cached':<52} {cold:9.1f} /s")  # noqa: T201
    for text in (
        f"{'goal: items per second at 100k':<52} {20_000:9.1f} /s",
        f"{'slowdown 1k -> 100k (goal <= 2.0)':<52} {slowdown:9.3f}",
        f"{'precision on the labelled set':<52} {scores.precision:9.4f} ({len(CASES)} cases)",
        f"{'recall on the labelled set':<52} {scores.recall:9.4f}",
    ):
        print(text)  # noqa: T201
    sys.stdout.flush()


if __name__ == "__main__":
    main()
