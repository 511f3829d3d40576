"""Prometheus figures of routing (WCO performance measurement): lanes per office,
time from submission to decision, rules fired and rules that failed to evaluate."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from customs_shared.db import utcnow
from routing_svc.lanes.models import LaneDecision
from routing_svc.rules.engine import Verdict

DECISIONS = Counter(
    "routing_decisions_total", "Lane decisions by office and lane.", ["office", "lane"]
)
SUBMISSION_TO_DECISION = Histogram(
    "routing_submission_to_decision_seconds",
    "Time from a declaration's submission to its lane decision.",
    ["office"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120),
)
RULES_FIRED = Counter("routing_rule_fired_total", "Decisions a rule fired on.", ["rule"])
RULE_ERRORS = Counter(
    "routing_rule_errors_total", "Evaluations a rule could not complete.", ["rule"]
)
RANDOM_SELECTIONS = Counter(
    "routing_random_selections_total", "Declarations raised by random selection.", ["lane"]
)

INSPECTIONS = Counter(
    "routing_inspection_outcomes_total",
    "Inspection outcomes by a rule that had fired on the decision (random-selection for a "
    "random check) and whether something was found: the hit rate, live.",
    ["rule", "found"],
)
OVERRIDES = Counter(
    "routing_lane_overrides_total",
    "Officers' lane overrides by lane before and after.",
    ["from_lane", "to_lane"],
)


def observe_decision(decision: LaneDecision, verdict: Verdict) -> None:
    DECISIONS.labels(decision.office, decision.lane).inc()
    if decision.submitted_at is not None:
        elapsed = (utcnow() - decision.submitted_at).total_seconds()
        SUBMISSION_TO_DECISION.labels(decision.office).observe(max(elapsed, 0.0))
    for rule in verdict.fired:
        RULES_FIRED.labels(rule).inc()
    for error in verdict.errors:
        RULE_ERRORS.labels(error.rule).inc()
    if verdict.randomly_selected is not None:
        RANDOM_SELECTIONS.labels(verdict.randomly_selected).inc()
