"""Problems of partner event ingress."""

from __future__ import annotations

from customs_shared.problems import (
    BadRequest,
    Conflict,
    Forbidden,
    ProblemError,
)


class InvalidPartnerEvent(BadRequest):
    """Not a CloudEvent, or its ``data`` does not match the type's schema; ``errors``
    names each field."""

    slug = "invalid-partner-event"
    title = "The partner event is not valid"


class PartnerEventNotAllowed(Forbidden):
    slug = "partner-event-not-allowed"
    title = "This client may not send this partner event"


class PartnerEventIdReused(Conflict):
    slug = "partner-event-id-reused"
    title = "An event with this source and id was accepted with other content"


class UnsupportedMediaType(ProblemError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"
