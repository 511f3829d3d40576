"""Gateway settings, read from ``GATEWAY_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from customs_shared.messaging.consumer import STALL_SECONDS
from customs_shared.services import DOMAIN_SERVICES, GATEWAY, local_url
from customs_shared.settings import ServerSettings


class GatewaySettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix=GATEWAY.prefix, extra="ignore")

    spec = GATEWAY
    # max_body_bytes (GATEWAY_MAX_BODY_BYTES, from ServerSettings) caps every request
    # body, forwarded ones included. Keep it no larger than the services' caps: a service
    # that refuses a body before reading it may drop the connection mid-upload, which the
    # gateway can only report as 502.

    signing_key_file: Path = Field(
        default=Path(".run/gateway/signing-key.pem"),
        description="PEM (PKCS#8) Ed25519 private key that signs access tokens.",
    )
    signing_key_password: SecretStr | None = Field(
        default=None, description="Passphrase of the signing key, if the PEM is encrypted."
    )
    generate_signing_key: bool = Field(
        default=False,
        description="Create the signing key file (mode 0600) if it is missing. "
        "Defaults to true only when environment is 'local'.",
    )
    previous_public_keys_dir: Path | None = Field(
        default=None,
        description="Folder of PEM public keys of retired signing keys, still listed in the "
        "JWKS (and accepted) until tokens they signed have expired.",
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL clients reach the gateway at (https://api.example.gov.vn); "
        "the authorization server metadata names its endpoints under it. Unset: the "
        "request's own base URL.",
        pattern=r"^https?://",
    )
    clients_file: Path = Field(
        default=Path("deploy/local/clients.json"),
        description="JSON file of OAuth2 clients (secret hashes only) that seeds the "
        "database: clients it lists that the database lacks are added at start; the "
        "database's are never overwritten. Optional: without it clients live in the "
        "database only (admin API, python -m gateway.clients).",
    )
    clients_refresh_seconds: float = Field(
        default=2.0,
        gt=0,
        description="How often each replica looks for changed clients in the database.",
    )
    database_url: SecretStr = Field(
        default=SecretStr("sqlite+aiosqlite:///./.run/gateway.db"),
        description="The gateway's own database (partner events received): "
        "postgresql+asyncpg://… or sqlite+aiosqlite:///…",
    )
    database_pool_size: int = Field(default=10, ge=1)
    kafka_bootstrap: str = "127.0.0.1:9092"
    partner_batch_max_events: int = Field(
        default=100, ge=1, le=1000, description="Events one partner-events batch may hold."
    )
    partner_publish_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How long an event waits for Kafka's acknowledgement before the "
        "partner gets 503 with Retry-After.",
    )
    secret_pepper: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="Server-side key of the HMAC-SHA-256 hashes of generated client "
        "secrets ($hmac-sha256$…); required when the clients list has such secrets.",
    )
    token_ttl_seconds: int = Field(default=900, ge=30, le=86_400)
    consumer_stall_seconds: float = Field(
        default=STALL_SECONDS,
        gt=0,
        description="/readyz reports the consumer of routing's reports stalled when it has "
        "had records waiting this long without handling one. The token revocations' reader "
        "that stays behind this long without moving starts reading again.",
    )
    revocation_expiry_interval_seconds: float = Field(
        default=600,
        gt=0,
        description="How often revocations older than a token's lifetime (plus 5 minutes) "
        "are dropped from the revocation topic.",
    )
    # jwt_issuer and jwt_audience (GATEWAY_JWT_ISSUER / _JWT_AUDIENCE, from ServerSettings)
    # go into every token; the services require the same values.

    upstreams: dict[str, str] = Field(
        default_factory=lambda: {s.api: local_url(s) for s in DOMAIN_SERVICES if s.api},
        description="Path segment under /api/v1/ → base URL of the service that owns it; "
        'as JSON: GATEWAY_UPSTREAMS=\'{"declarations": "http://declaration-svc:8001", …}\'.',
    )
    upstream_timeout_seconds: float = Field(default=10.0, gt=0)
    upstream_connect_timeout_seconds: float = Field(default=3.0, gt=0)
    upstream_breaker_failures: int = Field(
        default=5,
        ge=1,
        description="Requests in a row that cannot reach an upstream before its circuit "
        "breaker opens and the gateway answers 503 at once.",
    )
    upstream_breaker_open_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long an open breaker refuses before one trial request goes through.",
    )
    upstream_max_connections: int = Field(default=200, ge=1)

    rate_limit_storage_uri: str = Field(
        default="async+memory://",
        description="Where rate-limit windows live (limits library URI); "
        "async+redis://host:6379 shares them between gateway replicas.",
    )
    rate_limit_per_minute: int = Field(default=600, ge=1, description="Per client id, API calls.")

    # /oauth/token. A "source" is the caller's address (request.client.host: the peer,
    # or X-Forwarded-For when the peer is in uvicorn's forwarded_allow_ips); an IPv6
    # source is its /64. Limits are never keyed on the claimed client id alone, so a
    # caller cannot lock out a client it cannot authenticate as.
    token_requests_per_minute_per_source: int = Field(
        default=120,
        ge=1,
        description="Token requests per source, counted before the secret is checked, "
        "so made-up client ids cannot spread a flood over fresh windows.",
    )
    token_failures_per_minute_per_source: int = Field(
        default=30,
        ge=1,
        description="Failed client authentications per source; at the limit the source's "
        "token requests get 429 until failures leave the window.",
    )
    token_failures_per_minute_per_client_source: int = Field(
        default=10,
        ge=1,
        description="Failed authentications per (client id, source): guessing one client's "
        "secret from one place is refused, while the client itself, elsewhere, is not.",
    )
    tokens_issued_per_minute_per_client: int = Field(
        default=60,
        ge=1,
        description="Tokens issued per client id; only issued tokens count, so wrong "
        "secrets cannot use up a client's budget.",
    )
    token_verifications_in_flight_per_source: int = Field(
        default=2,
        ge=1,
        description="Secret checks one source may have running or waiting at once (in "
        "each replica); one more gets 429, so a single source cannot fill the line.",
    )
    token_verification_slots: int | None = Field(
        default=None,
        ge=1,
        description="Secret checks (argon2id) running at once; unset means one per CPU core.",
    )
    token_verification_max_waiting: int = Field(
        default=8, ge=0, description="Token requests that may wait for a check slot."
    )
    token_verification_max_wait_seconds: float = Field(
        default=1.0,
        ge=0,
        description="How long one waits for a check slot before a 503 busy problem.",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_key_generation(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("generate_signing_key") is None:
            data = {**data, "generate_signing_key": data.get("environment", "local") == "local"}
        return data

    @field_validator("upstreams")
    @classmethod
    def _http_urls(cls, value: dict[str, str]) -> dict[str, str]:
        for segment, url in value.items():
            if not segment or "/" in segment:
                raise ValueError(f"upstream path segment {segment!r} must be one segment")
            if not url.startswith(("http://", "https://")):
                raise ValueError("upstream URLs must start with http:// or https://")
        return {segment: url.rstrip("/") for segment, url in value.items()}
