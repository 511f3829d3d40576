"""Settings every process shares; each subclasses with its own env prefix.

``ServerSettings`` is what any HTTP process of the cluster has (the gateway's base);
``ServiceSettings`` adds what a domain service has: database, Kafka, JWKS, outbox,
consumer."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from customs_shared.messaging.consumer import RENEW_AFTER_SECONDS, STALL_SECONDS
from customs_shared.messaging.kafka import FETCH_MAX_WAIT_MS, FETCH_MIN_BYTES
from customs_shared.services import UPLOAD_BODY_LIMITS, ServiceSpec


class ServerSettings(BaseSettings):
    """Base settings. A process sets ``model_config`` with its ``env_prefix``
    (``DECLARATION_`` …), so every field below is read as ``<PREFIX>_<FIELD>``."""

    model_config = SettingsConfigDict(extra="ignore", env_file=None)
    # The process's entry in customs_shared.services: its name and ports by default.
    spec: ClassVar[ServiceSpec | None] = None

    service_name: str = "service"
    host: str = "127.0.0.1"
    port: int = 8000
    internal_host: str | None = Field(
        default=None,
        description="Address of the internal listener (probes, metrics, API docs); "
        "the public host when unset.",
    )
    internal_port: int = Field(
        default=9000,
        description="Port of the internal listener. Only /healthz, /readyz, /metrics and the "
        "API docs are served there, and only there; keep it off the public edge.",
    )
    public_api_docs: bool = Field(
        default=False, description="Also serve /docs, /redoc and /openapi.json on the public port."
    )
    header_read_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Time from a connection's start, or a request's first byte, to the end "
        "of its headers (408 and close after it).",
    )
    body_read_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Longest wait for the next piece of a request body."
    )
    body_total_timeout_seconds: float = Field(
        default=20.0, gt=0, description="Time the whole request body may take to arrive."
    )
    max_header_bytes: int = Field(
        default=16_384,
        ge=1_024,
        description="Request target plus header names and values, in bytes (431 above it).",
    )
    max_headers: int = Field(default=100, ge=10, description="Header lines (431 above it).")
    environment: str = "local"
    log_level: str = "INFO"
    jwt_issuer: str = "customs-gateway"
    jwt_audience: str = "customs-api"
    max_body_bytes: int = 1_048_576
    max_body_bytes_by_path: dict[str, int] = Field(
        default_factory=lambda: dict(UPLOAD_BODY_LIMITS),
        description="Path patterns (regular expressions matched against the whole path) with "
        'their own body cap, as JSON: {"/api/v1/signatures/verify": 6065536}; every other '
        "path has max_body_bytes. Defaults to the upload routes of customs_shared.services.",
    )
    shutdown_grace_seconds: float = 20.0

    @model_validator(mode="before")
    @classmethod
    def _defaults_from_spec(cls, data: Any) -> Any:
        if cls.spec is None or not isinstance(data, dict):
            return data
        spec = cls.spec
        defaults = {
            "service_name": spec.name,
            "port": spec.port,
            "internal_port": spec.internal_port,
        }
        return {**defaults, **data}

    @model_validator(mode="after")
    def _listeners_apart(self) -> Self:
        # Requests are told apart by the port that accepted them.
        if self.internal_port == self.port:
            raise ValueError("internal_port must differ from port")
        return self


class Role(StrEnum):
    """What one process of a domain service does. A service that serves HTTP and consumes
    events can run as two Deployments of one image, each scaled on its own signal: ``api``
    on CPU, ``consumer`` on consumer-group lag. Both publish their outbox."""

    ALL = "all"  # API, consumer and background jobs (the one-machine run)
    API = "api"  # the API only: no consumer, no background jobs
    CONSUMER = "consumer"  # the consumer and background jobs; the public port serves no API


class ServiceSettings(ServerSettings):
    """A domain service: its database, Kafka, the gateway's JWKS, outbox and consumer."""

    role: Role = Field(default=Role.ALL, description="all, api or consumer (see Role).")

    database_url: SecretStr = Field(
        default=SecretStr("sqlite+aiosqlite:///./.run/service.db"),
        description="SQLAlchemy async URL: postgresql+asyncpg://… or sqlite+aiosqlite:///…",
    )
    database_pool_size: int = Field(
        default=20,
        ge=1,
        description="Connections the process keeps open to its database, and at most uses: "
        "size it to the requests, consumer and background jobs it runs at once.",
    )
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_client_id: str | None = None
    jwks_url: str = "http://127.0.0.1:8000/.well-known/jwks.json"
    jwt_algorithms: list[str] = Field(default_factory=lambda: ["EdDSA"])
    jwks_cache_seconds: int = 300
    outbox_poll_seconds: float = 0.5
    outbox_batch_size: int = 200
    outbox_retention_hours: float = Field(
        default=24,
        gt=0,
        description="Published outbox rows are deleted after this long (kept meanwhile to "
        "look into what was sent).",
    )
    processed_event_retention_days: float = Field(
        default=8,
        gt=0,
        description="Handled event ids are forgotten after this long: keep it above the "
        "topics' retention (Kafka's default is 7 days), the furthest a redelivery can reach.",
    )
    messaging_prune_interval_seconds: float = Field(
        default=300, gt=0, description="How often both are pruned."
    )
    consumer_max_retries: int = 3
    consumer_retry_backoff_seconds: float = 0.2
    consumer_commit_interval_seconds: float = Field(
        default=1.0,
        ge=0,
        description="Handled records' offsets are committed at most this often, and at once "
        "when the consumer goes idle, stops or loses a partition. A crash redelivers at most "
        "this much, which the handled-id check skips; 0 commits after every fetch.",
    )
    consumer_fetch_min_bytes: int = Field(
        default=FETCH_MIN_BYTES,
        ge=1,
        le=16 * 1024 * 1024,
        description="The broker answers a fetch when this many bytes are there for it, or "
        "when CONSUMER_FETCH_MAX_WAIT_MS is over: off the peak, one transaction then handles "
        "what arrived in that time together.",
    )
    consumer_fetch_max_wait_ms: int = Field(
        default=FETCH_MAX_WAIT_MS,
        ge=0,
        le=1000,
        description="The longest the broker holds a fetch for CONSUMER_FETCH_MIN_BYTES: "
        "the most a record waits on each hop when the system is nearly idle.",
    )
    consumer_linger_ms: float = Field(
        default=0,
        ge=0,
        le=1000,
        description="A fetch that brings fewer than a full batch waits this long in the "
        "consumer for the records right behind it; off by default, the broker's fetch wait "
        "does it with less CPU.",
    )
    consumer_stall_seconds: float = Field(
        default=STALL_SECONDS,
        gt=0,
        description="/readyz reports the consumer stalled when it has had records waiting "
        "this long without handling one (a handler blocked, the database locked), or when "
        "every fetch has failed this long. A reader of a whole topic outside any group "
        "(token revocations, ipr-svc's records) that stays behind this long without moving "
        "starts reading again.",
    )
    consumer_renew_after_seconds: float = Field(
        default=RENEW_AFTER_SECONDS,
        gt=0,
        description="A consumer whose every fetch has failed this long is replaced by a new "
        "member of its group (a broker that is down makes fetches wait, not fail: a fetch "
        "that keeps failing is a client whose group coordination or fetching has died).",
    )
    outbox_max_pending_age_seconds: float = Field(
        default=60,
        gt=0,
        description="/readyz reports the outbox stuck when its oldest unpublished event is "
        "older than this (Kafka unreachable, its disk full).",
    )
