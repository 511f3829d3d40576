"""Problems the gateway adds to ``customs_shared.problems``."""

from __future__ import annotations

from customs_shared.problems import BadRequest, ProblemError, ServiceUnavailable


class GatewayTimeout(ProblemError):
    status = 504
    slug = "gateway-timeout"
    title = "Upstream service did not answer in time"


class LengthRequired(ProblemError):
    status = 411
    slug = "length-required"
    title = "Content-Length required"


class InvalidHeader(BadRequest):
    slug = "invalid-header"
    title = "A request header is not valid"


class Busy(ServiceUnavailable):
    """More work of one kind in progress than the gateway takes on at once; sent with
    ``Retry-After``, so callers back off instead of queueing without bound."""

    slug = "busy"
    title = "Too many requests in progress"


class UpstreamUnavailable(ServiceUnavailable):
    """The upstream's circuit breaker is open (see :mod:`gateway.breaker`)."""

    slug = "upstream-unavailable"
    title = "The service behind this path is not reachable"


class KafkaUnavailable(ServiceUnavailable):
    """Kafka did not acknowledge a record in time (partner events, revocations)."""

    slug = "kafka-unavailable"
    title = "Events cannot be published now"
