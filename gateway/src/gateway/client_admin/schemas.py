from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from customs_shared.auth import Role
from gateway.clients import ClientId, ScopeToken


class ClientRegistration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: ClientId
    roles: list[Role] = Field(min_length=1, max_length=6)
    tenant: str = Field(min_length=1, max_length=64)
    scopes: list[ScopeToken] = Field(default_factory=list, max_length=50)
    partner_event_types: list[str] = Field(default_factory=list, max_length=20)
    partner_event_source: str | None = Field(default=None, min_length=1, max_length=500)
    description: str = Field(default="", max_length=500)
    rate_limit_per_minute: int | None = Field(default=None, ge=1, le=1_000_000)
    jwks: dict[str, Any] | None = Field(
        default=None,
        description="Public keys (a JWK Set: Ed25519 or P-256) for private_key_jwt "
        "client authentication (RFC 7523), besides the generated secret.",
    )


class ClientChange(BaseModel):
    """The fields to change; the others stay."""

    model_config = ConfigDict(extra="forbid")

    roles: list[Role] | None = Field(default=None, min_length=1, max_length=6)
    tenant: str | None = Field(default=None, min_length=1, max_length=64)
    scopes: list[ScopeToken] | None = Field(default=None, max_length=50)
    partner_event_types: list[str] | None = Field(default=None, max_length=20)
    partner_event_source: str | None = Field(default=None, min_length=1, max_length=500)
    description: str | None = Field(default=None, max_length=500)
    rate_limit_per_minute: int | None = Field(default=None, ge=1, le=1_000_000)
    jwks: dict[str, Any] | None = Field(default=None, description="Public keys (JWK Set).")


class Rotation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keep_previous_seconds: int = Field(
        default=3600,
        ge=0,
        le=7 * 86_400,
        description="How long the old secret keeps working, so the client can switch over.",
    )


class Disabling(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class ClientOut(BaseModel):
    """A registered client, without its secret (only ever shown once, when made)."""

    model_config = ConfigDict(from_attributes=True)

    client_id: str
    roles: list[str]
    tenant: str
    scopes: list[str]
    partner_event_types: list[str]
    partner_event_source: str | None
    description: str
    rate_limit_per_minute: int | None
    jwks: dict[str, Any] | None
    enabled: bool
    disabled_reason: str | None
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class ClientWithSecret(ClientOut):
    client_secret: str = Field(description="Shown this once; the gateway keeps only its hash.")


class ClientPage(BaseModel):
    items: list[ClientOut]
    next_cursor: str | None = Field(description="Pass as `after` for the next page.")
