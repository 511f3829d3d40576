from __future__ import annotations

from customs_shared.problems import (
    Conflict,
    Forbidden,
    NotFound,
    ProblemError,
    UnprocessableContent,
)


class DeclarationNotFound(NotFound):
    slug = "declaration-not-found"
    title = "Declaration not found"


class IdempotencyKeyReused(UnprocessableContent):
    slug = "idempotency-key-reused"
    title = "Idempotency-Key already used for a different request"


class NotYourEnterprise(Forbidden):
    slug = "declarant-not-caller"
    title = "A declarant may declare only for its own enterprise"


class IdempotentRequestInFlight(Conflict):
    slug = "idempotent-request-in-flight"
    title = "A request with this Idempotency-Key is still being processed"


class IllegalTransition(Conflict):
    slug = "illegal-status-transition"
    title = "The declaration's status does not allow this"


class StaleVersion(ProblemError):
    status = 412
    slug = "stale-version"
    title = "The declaration changed since the version named in If-Match"


class IfMatchRequired(ProblemError):
    status = 428
    slug = "if-match-required"
    title = "An amendment must name the version it amends in If-Match"


class VersionNotFound(NotFound):
    slug = "declaration-version-not-found"
    title = "Declaration version not found"


class IprSuspended(Conflict):
    slug = "ipr-suspended"
    title = "Clearance is suspended on an IPR hit"
