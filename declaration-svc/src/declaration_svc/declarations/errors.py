from __future__ import annotations

from customs_shared.problems import Conflict, Forbidden, NotFound, UnprocessableContent


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
