"""What declaration-svc alone can tell: lanes as brokers see them."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

LANES = Counter("declarations_laned_total", "Declarations that got their lane", ["lane"])
SUBMISSION_TO_LANE = Histogram(
    "declaration_submission_to_lane_seconds",
    "From a declaration's acceptance (202) to its lane being applied here, visible to the broker",
    ["lane"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
)
