"""``make bench BENCH=routing``: lane decisions per second on one core, in process, with 50
active rules and with 1 rule in the same run. A decision is what routing-svc does per
declaration besides the database: build the rule input from the evidence, draw for random
selection, evaluate every rule in force, and build the LaneAssigned payload (the reasons as
the decision row stores them, the summary, the event's data). Measured beside it: the same
with the CloudEvent envelope serialised as the outbox row holds it, and (on a throwaway
PostgreSQL) lanes.service's handlers end to end.

Figures: ``routing.decisions_per_s_50_rules`` (goal >= 5,000, per second of CPU),
``routing.ratio_50_to_1_rule``, ``routing.decisions_per_s_1_rule``,
``routing.decisions_per_s_50_rules_with_envelope`` and ``routing.decisions_per_s_end_to_end``."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass

from customs_shared.events import catalog
from customs_shared.events.envelope import new_event
from customs_shared.events.schemas import LaneAssigned, LaneReason
from routing_svc.lanes import service
from routing_svc.rules import engine, inputs
from routing_svc.rules.active import compile_definition
from routing_svc.rules.engine import CompiledRuleSet
from routing_svc.rules.inputs import Evidence
from tests.bench_parts import results, routing_end_to_end
from tests.bench_parts.routing_workload import NOW, evidences, one_rule_set, rule_set

GOAL = 5_000.0
DECLARATIONS = 2_000
# Rounds of each configuration in turn, so that all of them see the same neighbours.
ROUNDS = int(os.environ.get("BENCH_ROUTING_ROUNDS", "4"))
SECONDS = float(os.environ.get("BENCH_ROUTING_SECONDS", "5"))  # per configuration and round
SEED = b"bench-random-selection-seed-0123456789"
# The database-inclusive figure: seconds of lanes.service handlers on PostgreSQL (0: skip).
END_TO_END_SECONDS = float(os.environ.get("BENCH_ROUTING_END_TO_END_SECONDS", "15"))


def decide(rule_set: CompiledRuleSet, evidence: Evidence, *, envelope: bool = False) -> str:
    """One decision, as lanes.service makes it, up to the event's data; with ``envelope``,
    up to the outbox row's JSON."""
    facts = evidence.facts
    values = inputs.build(evidence, NOW)
    verdict = engine.evaluate(
        rule_set,
        values,
        now=NOW,
        draw=engine.random_draw(facts.declaration_id, SEED),
        office=facts.customs_office,
    )
    stored = [r.model_dump(mode="json") for r in verdict.reasons]
    service._stored(values)  # the decision row's evidence column
    assigned = LaneAssigned(
        declaration_id=facts.declaration_id,
        version=facts.version,
        tenant=facts.tenant,
        lane=verdict.lane,
        reasons=[LaneReason.model_validate(r) for r in stored],
        rule_set_version=rule_set.version,
        inputs=service._summary(values),
        score=verdict.score,
        screening_complete=True,
        revision=1,
        decided_at=NOW,
    )
    if envelope:
        event = new_event(
            event_type=catalog.LANE_ASSIGNED.name,
            source=service.SOURCE,
            subject=str(facts.declaration_id),
            data=assigned,
            event_id=service.lane_event_id(facts.declaration_id, facts.version, 1),
        )
        event.to_json()
    return verdict.lane.value


@dataclass
class Run:
    decisions: int = 0
    cpu: float = 0.0
    wall: float = 0.0

    @property
    def per_cpu_s(self) -> float:
        return self.decisions / self.cpu

    @property
    def per_wall_s(self) -> float:
        return self.decisions / self.wall


def measure(
    rule_set: CompiledRuleSet, workload: list[Evidence], run: Run, *, envelope: bool
) -> float:
    """Decides the workload over and over for SECONDS; returns this round's CPU rate."""
    done, started, cpu_started = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - started < SECONDS:
        for evidence in workload[:500]:
            decide(rule_set, evidence, envelope=envelope)
        done += 500
        workload.append(workload.pop(0))  # a different slice next time round
    cpu, wall = time.process_time() - cpu_started, time.perf_counter() - started
    run.decisions, run.cpu, run.wall = run.decisions + done, run.cpu + cpu, run.wall + wall
    return done / cpu


def _figure(value: float, unit: str, baseline: float | None = None) -> dict[str, object]:
    return {
        "value": round(value, 4 if unit == "ratio" else 1),
        "unit": unit,
        "baseline": baseline,
        "ratio": None if baseline is None else round(value / baseline, 4),
    }


def main() -> None:
    core = {min(os.sched_getaffinity(0))}
    process_started = time.process_time()
    workload = evidences(DECLARATIONS)
    end_to_end = (
        routing_end_to_end.measure(workload, rule_set(32), END_TO_END_SECONDS, core)
        if END_TO_END_SECONDS > 0
        else None
    )
    os.sched_setaffinity(0, core)  # one core, as the figures say
    fifty = compile_definition("bench-50", rule_set(32))
    one = compile_definition("bench-1", one_rule_set())
    assert len(fifty.rules) == 50
    assert len(one.rules) == 1
    lanes = Counter(decide(fifty, e) for e in workload)  # warm, and the lane shares
    fired = Counter(
        rule
        for e in workload
        for rule in engine.evaluate(
            fifty, inputs.build(e, NOW), now=NOW, draw=0.5, office="01B1"
        ).fired
    )
    for e in workload[:200]:
        decide(one, e, envelope=True)
    configurations = {
        "50 rules": (fifty, False),
        "1 rule": (one, False),
        "50 rules, event JSON": (fifty, True),
    }
    runs = {name: Run() for name in configurations}
    rounds: dict[str, list[float]] = {name: [] for name in configurations}
    for _ in range(ROUNDS):
        for name, (compiled, envelope) in configurations.items():
            rounds[name].append(measure(compiled, workload, runs[name], envelope=envelope))
    rate_50, rate_1 = runs["50 rules"].per_cpu_s, runs["1 rule"].per_cpu_s
    with_envelope = runs["50 rules, event JSON"].per_cpu_s
    ratio = rate_50 / rate_1
    figures = {
        "routing.decisions_per_s_50_rules": _figure(rate_50, "per_s", GOAL),
        "routing.ratio_50_to_1_rule": _figure(ratio, "ratio"),
        "routing.decisions_per_s_1_rule": _figure(rate_1, "per_s"),
        "routing.decisions_per_s_50_rules_with_envelope": _figure(with_envelope, "per_s", GOAL),
    }
    if end_to_end is not None:
        figures["routing.decisions_per_s_end_to_end"] = _figure(
            end_to_end.per_wall_s, "per_s", round(rate_50, 1)
        )
    results.merge(figures)
    items = sum(len(e.facts.items) for e in workload) / len(workload)
    lines = [
        f"workload: {len(workload):,} declarations, {items:.1f} items each on average; "
        f"lanes with 50 rules: "
        + ", ".join(f"{lane} {n / len(workload):.1%}" for lane, n in sorted(lanes.items())),
        f"rules firing most: {', '.join(f'{r} {n}' for r, n in fired.most_common(6))}",
    ]
    for name, run in runs.items():
        spread = f"rounds {min(rounds[name]):,.0f}-{max(rounds[name]):,.0f}"
        lines += [
            f"{f'decisions, {name}, 1 core, per CPU s':<52} "
            f"{run.per_cpu_s:9.1f} /s (n={run.decisions}, {spread}, "
            f"median {statistics.median(rounds[name]):,.0f})",
            f"{'  per wall s':<52} {run.per_wall_s:9.1f} /s",
            f"{'  CPU per decision':<52} {1e6 / run.per_cpu_s:9.1f} us",
        ]
    if end_to_end is not None:
        lines += [
            f"{'end to end on PostgreSQL, 50 rules, 3 transactions':<52} "
            f"{end_to_end.per_wall_s:9.1f} /s wall (n={end_to_end.decisions}, "
            f"{routing_end_to_end.CONCURRENCY} in flight)",
            f"{'  CPU of this process per decision (1 core)':<52} "
            f"{end_to_end.cpu_per_decision_ms:9.2f} ms",
        ]
    lines += [
        f"{'goal: decisions per second with 50 rules':<52} {GOAL:9.1f} /s",
        f"{'ratio 50 rules / 1 rule':<52} {ratio:9.4f}",
        f"{'CPU of this process (workload, compile, loops)':<52} "
        f"{time.process_time() - process_started:9.1f} s",
    ]
    for text in lines:
        print(text)  # noqa: T201
    sys.stdout.flush()


if __name__ == "__main__":
    main()
