"""Problems the gateway adds to ``customs_shared.problems``."""

from __future__ import annotations

from customs_shared.problems import BadRequest, ProblemError


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
