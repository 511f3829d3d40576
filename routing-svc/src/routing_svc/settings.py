from __future__ import annotations

import hashlib
import hmac
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from customs_shared.pagination import CursorCodec
from customs_shared.services import ROUTING
from customs_shared.settings import ServiceSettings

_MIN_SEED = 32
# Only a local run may do without a seed of its own; it still draws the same way on
# every start, so a local replay shows the same selections.
_LOCAL_SEED = hashlib.sha256(b"customs local random selection").hexdigest()


class RoutingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix=ROUTING.prefix, extra="ignore")

    spec = ROUTING
    screening_timeout_seconds: float = Field(
        default=30.0, description="Decide without a missing screening result after this long."
    )
    sweep_interval_seconds: float = 1.0
    invalid_signature_outcome: Literal["red", "reject"] = Field(
        default="red",
        description="What an enterprise's invalid signature leads to: a red lane (physical "
        "inspection) or the declaration's rejection (it must be submitted again, signed).",
    )
    random_selection_seed: SecretStr = Field(
        default=SecretStr(""),
        description="Secret key of random selection, at least 32 characters: with the "
        "declaration id it fixes each draw (reproducible for audit, unknowable to traders). "
        "Required unless environment is 'local'; every replica needs the same one.",
    )
    dry_run_max_declarations: int = Field(
        default=5000, ge=1, le=100_000, description="Most declarations one dry run replays."
    )
    intelligence_lookback_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description="Partner intelligence re-decides declarations decided within this many "
        "days (older ones are taken as cleared; containers are reused).",
    )
    intelligence_max_redecisions: int = Field(
        default=500,
        ge=1,
        le=10_000,
        description="Most declarations one partner event re-decides, in its one transaction.",
    )
    intelligence_max_candidates: int = Field(
        default=20_000,
        ge=1,
        le=200_000,
        description="Most recently decided declarations an alert or a revoked certificate is "
        "matched against, newest first.",
    )
    intelligence_sweep_interval_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How often alerts whose validity window has opened since they arrived "
        "are looked for (they then re-decide the declarations they match).",
    )

    @model_validator(mode="after")
    def _seed_present(self) -> Self:
        seed = self.random_selection_seed.get_secret_value()
        if not seed:
            if self.environment != "local":
                raise ValueError(
                    "ROUTING_RANDOM_SELECTION_SEED is required outside the local environment"
                )
            self.random_selection_seed = SecretStr(_LOCAL_SEED)
        elif len(seed.encode()) < _MIN_SEED:
            raise ValueError(f"ROUTING_RANDOM_SELECTION_SEED needs at least {_MIN_SEED} characters")
        return self

    def cursor_codec(self) -> CursorCodec:
        """Signs listing cursors. Every replica already shares the selection seed; a key
        derived from it under its own label keeps cursors and draws independent without
        one more secret to deploy."""
        seed = self.random_selection_seed.get_secret_value().encode()
        return CursorCodec(hmac.new(seed, b"routing listing cursors", hashlib.sha256).digest())
