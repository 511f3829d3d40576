"""The one list of the cluster's services: names, packages, settings prefixes, ports,
databases and the API path the gateway routes to each. The local runner, the gateway's
upstream defaults, the services' own settings and the tests all read it, so adding a
service is one entry here (plus its folder and the workspace member)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    name: str  # also the Kafka consumer group and the catalog's producer/consumer name
    package: str  # the Python package; ``python -m <package>`` serves it
    prefix: str  # of its environment settings
    port: int  # public listener: the API
    internal_port: int  # probes, metrics, API docs
    database: str | None = None  # its own database's name, if it keeps data
    api: str | None = None  # the segment under /api/v1/ the gateway routes to it

    @property
    def migrations(self) -> str:
        return f"{self.package}:migrations"


GATEWAY = ServiceSpec("gateway", "gateway", "GATEWAY_", 8000, 9000, "gateway")
DECLARATION = ServiceSpec(
    "declaration-svc", "declaration_svc", "DECLARATION_", 8001, 9001, "declarations", "declarations"
)
SIGNATURE = ServiceSpec(
    "signature-svc", "signature_svc", "SIGNATURE_", 8002, 9002, "signatures", "signatures"
)
IPR = ServiceSpec("ipr-svc", "ipr_svc", "IPR_", 8003, 9003, "ipr", "ipr")
ROUTING = ServiceSpec("routing-svc", "routing_svc", "ROUTING_", 8004, 9004, "routing", "routing")

SERVICES: tuple[ServiceSpec, ...] = (GATEWAY, DECLARATION, SIGNATURE, IPR, ROUTING)
# The services that keep a database (the gateway too: partner events received).
DATABASE_SERVICES: tuple[ServiceSpec, ...] = tuple(s for s in SERVICES if s.database)
# The services behind the gateway: each keeps a database and serves an API segment.
DOMAIN_SERVICES: tuple[ServiceSpec, ...] = tuple(s for s in SERVICES if s.database and s.api)


def local_url(spec: ServiceSpec) -> str:
    """Where a service listens in a one-machine run with the default ports."""
    return f"http://127.0.0.1:{spec.port}"


# Routes that take file uploads, with their body caps: path patterns (regular expressions
# matched against the whole path). The gateway and the service that owns a route apply the
# same number: 3 MB file parts and the form around them.
UPLOAD_BODY_LIMITS: dict[str, int] = {
    "/api/v1/signatures/verify": 2 * 3_000_000 + 65_536,  # the document and its signature
    "/api/v1/signatures/crls": 3_000_000 + 65_536,
    "/api/v1/declarations/[^/]+/documents": 4_194_304,  # a 3 MB file, its signature, framing
    "/api/v1/ipr/applications/[^/]+/attachments": 4_194_304,  # the same for IPR applications
}
