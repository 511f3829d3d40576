"""``make bench BENCH=routing``: lane decisions per second on one core, in process, with 50
active rules and with 1 rule in the same run. A decision is what routing-svc does per
declaration besides the database: build the rule input from the evidence, draw for random
selection, evaluate every rule in force, and build the LaneAssigned event (the reasons as
stored, the summary, the CloudEvent's JSON as the outbox holds it).

Figures: ``routing.decisions_per_s_50_rules`` (goal >= 5,000, per second of CPU) and
``routing.ratio_50_to_1_rule``."""

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
ROUNDS = int(
    os.environ.get("BENCH_ROUTING_ROUNDS", "4")
)  # 50 rules, then 1 rule, alternately: both see the same neighbours
SECONDS = float(os.environ.get("BENCH_ROUTING_SECONDS", "6"))  # per configuration and round
SEED = b"bench-random-selection-seed-0123456789"
# The database-inclusive figure: seconds of lanes.service handlers on PostgreSQL (0: skip).
END_TO_END_SECONDS = float(os.environ.get("BENCH_ROUTING_END_TO_END_SECONDS", "15"))


def decide(rule_set: CompiledRuleSet, evidence: Evidence) -> str:
    """One decision, as lanes.service makes it, up to the outbox row's payload."""
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


def measure(rule_set: CompiledRuleSet, workload: list[Evidence], run: Run) -> float:
    """Decides the workload over and over for SECONDS; returns this round's CPU rate."""
    done, started, cpu_started = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - started < SECONDS:
        for evidence in workload[:500]:
            decide(rule_set, evidence)
        done += 500
        workload.append(workload.pop(0))  # a different slice next time round
    cpu, wall = time.process_time() - cpu_started, time.perf_counter() - started
    run.decisions, run.cpu, run.wall = run.decisions + done, run.cpu + cpu, run.wall + wall
    return done / cpu


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
        decide(one, e)
    runs = {50: Run(), 1: Run()}
    rounds: dict[int, list[float]] = {50: [], 1: []}
    for _ in range(ROUNDS):
        for size, compiled in ((50, fifty), (1, one)):
            rounds[size].append(measure(compiled, workload, runs[size]))
    rate_50, rate_1 = runs[50].per_cpu_s, runs[1].per_cpu_s
    ratio = rate_50 / rate_1
    figures: dict[str, dict[str, object]] = {}
    if end_to_end is not None:
        figures["routing.decisions_per_s_end_to_end"] = {
            "value": round(end_to_end.per_wall_s, 1), "unit": "per_s",
            "baseline": round(runs[50].per_cpu_s, 1),
            "ratio": round(end_to_end.per_wall_s / runs[50].per_cpu_s, 4),
        }  # fmt: skip
    results.merge(
        {
            **figures,
            "routing.decisions_per_s_50_rules": {
                "value": round(rate_50, 1), "unit": "per_s", "baseline": GOAL,
                "ratio": round(rate_50 / GOAL, 4),
            },
            "routing.ratio_50_to_1_rule": {
                "value": round(ratio, 4), "unit": "ratio", "baseline": None, "ratio": None,
            },
            "routing.decisions_per_s_1_rule": {
                "value": round(rate_1, 1), "unit": "per_s", "baseline": None, "ratio": None,
            },
        }
    )  # fmt: skip
    items = sum(len(e.facts.items) for e in workload) / len(workload)
    lines = [
        f"workload: {len(workload):,} declarations, {items:.1f} items each on average; "
        f"lanes with 50 rules: "
        + ", ".join(f"{lane} {n / len(workload):.1%}" for lane, n in sorted(lanes.items())),
        f"rules firing most: {', '.join(f'{r} {n}' for r, n in fired.most_common(6))}",
    ]
    for size, run in runs.items():
        spread = f"rounds {min(rounds[size]):,.0f}-{max(rounds[size]):,.0f}"
        lines += [
            f"{f'decisions, {size} active rule(s), 1 core, per CPU s':<52} "
            f"{run.per_cpu_s:9.1f} /s (n={run.decisions}, {spread}, "
            f"median {statistics.median(rounds[size]):,.0f})",
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
