"""``.bench/results.json``: every benchmark part merges its figures into it, in the
shape the project's benchmark contract fixes (value, unit, baseline, ratio, measured_at)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from deploy.local.cluster import REPO

RESULTS = REPO / ".bench" / "results.json"


def merge(figures: dict[str, dict[str, Any]]) -> None:
    """Adds or replaces ``figures`` (name → value, unit, baseline, ratio), stamped now."""
    RESULTS.parent.mkdir(exist_ok=True)
    current = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    now = datetime.now(UTC).isoformat()
    current.update({name: {**value, "measured_at": now} for name, value in figures.items()})
    RESULTS.write_text(json.dumps(current, indent=2) + "\n")
