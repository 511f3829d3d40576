"""Settings every service shares; each service subclasses with its own env prefix."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Base settings. A service sets ``model_config`` with its ``env_prefix``
    (``DECLARATION_`` …), so every field below is read as ``<PREFIX>_<FIELD>``."""

    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    service_name: str = "service"
    host: str = "127.0.0.1"
    port: int = 8000
    environment: str = "local"
    log_level: str = "INFO"
    database_url: SecretStr = Field(
        default=SecretStr("sqlite+aiosqlite:///./.run/service.db"),
        description="SQLAlchemy async URL: postgresql+asyncpg://… or sqlite+aiosqlite:///…",
    )
    database_pool_size: int = 10
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_client_id: str | None = None
    jwks_url: str = "http://127.0.0.1:8000/.well-known/jwks.json"
    jwt_issuer: str = "customs-gateway"
    jwt_audience: str = "customs-api"
    jwt_algorithms: list[str] = Field(default_factory=lambda: ["EdDSA"])
    jwks_cache_seconds: int = 300
    max_body_bytes: int = 1_048_576
    outbox_poll_seconds: float = 0.5
    outbox_batch_size: int = 200
    consumer_max_retries: int = 3
    consumer_retry_backoff_seconds: float = 0.2
    shutdown_grace_seconds: float = 20.0
