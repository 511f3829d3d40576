"""Problems the IPR screening API answers with."""

from __future__ import annotations

from customs_shared.problems import NotFound


class ScreeningNotFound(NotFound):
    slug = "ipr-screening-not-found"
    title = "IPR screening not found"
