"""Problems the lanes API answers with."""

from __future__ import annotations

from customs_shared.problems import NotFound


class DecisionNotFound(NotFound):
    slug = "lane-decision-not-found"
    title = "Lane decision not found"
