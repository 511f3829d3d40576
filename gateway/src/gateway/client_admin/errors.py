from __future__ import annotations

from customs_shared.problems import Conflict, NotFound, ServiceUnavailable, UnprocessableContent


class ClientNotFound(NotFound):
    slug = "client-not-found"
    title = "No such client"


class ClientExists(Conflict):
    slug = "client-exists"
    title = "A client with this id is registered already"


class InvalidClient(UnprocessableContent):
    slug = "invalid-client-registration"
    title = "The client's registration is not valid"


class PepperMissing(ServiceUnavailable):
    """Generated secrets are stored as HMAC under the pepper; without it none can be made."""

    slug = "secret-pepper-missing"
    title = "The gateway cannot generate client secrets: GATEWAY_SECRET_PEPPER is not set"
