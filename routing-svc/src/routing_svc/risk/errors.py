"""Problems the risk-input API answers with."""

from __future__ import annotations

from customs_shared.problems import NotFound, ProblemError


class RiskInputNotFound(NotFound):
    slug = "risk-input-not-found"
    title = "Risk input not found"


class VersionMismatch(ProblemError):
    """If-Match named another version than the stored one: someone changed it since."""

    status = 412
    slug = "risk-input-version-mismatch"
    title = "The risk input has changed since that version"
