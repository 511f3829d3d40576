"""Settings of a service that notifies: its prefix applies (DECLARATION_WEBHOOK_…,
IPR_WEBHOOK_…)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Self

from pydantic import Field, PrivateAttr, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from customs_shared.notifications.sealing import MIN_KEY_CHARACTERS, SecretSealer
from customs_shared.notifications.service import DeliveryPolicy
from customs_shared.settings import ServiceSettings

# Only for the local run, whose database holds demo data: a key that outlives the process
# (a random one per process, like the local cursor secret, would leave every stored
# subscription unreadable after a restart).
LOCAL_WEBHOOK_SECRET_KEY = "local-only-webhook-secret-key-never-use-elsewhere"  # noqa: S105


class NotifyingServiceSettings(ServiceSettings):
    # Errors never echo the input: it holds the webhook secret keys.
    model_config = SettingsConfigDict(extra="ignore", env_file=None, hide_input_in_errors=True)

    webhook_allow_private_targets: bool | None = Field(
        default=None,
        description="Let webhooks call loopback, private and link-local addresses. "
        "Unset: allowed only when environment is 'local'.",
    )
    webhook_retry_base_seconds: float = Field(default=1.0, gt=0)
    webhook_retry_cap_seconds: float = Field(default=600.0, gt=0)
    webhook_max_failures: int = Field(
        default=12, ge=1, description="Consecutive failed deliveries that disable a webhook."
    )
    webhook_poll_seconds: float = Field(default=0.5, gt=0)
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long one delivery may take."
    )
    webhook_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How long a deliverer holds the subscriptions it claimed; at least twice "
        "the timeout.",
    )
    webhook_secret_key: SecretStr | None = Field(
        default=None,
        description="Key (at least 32 characters) that seals the webhook signing secrets "
        "in the database. Required unless environment is 'local', where a fixed "
        "development key is used.",
    )
    webhook_secret_previous_keys: list[SecretStr] = Field(
        default_factory=list,
        description="Keys used before the current one (JSON list): secrets sealed with them "
        "still open, and are resealed with the current key in the background.",
    )
    _sealer: SecretSealer | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _webhook_keys(self) -> Self:
        name = f"{self.spec.prefix if self.spec else ''}WEBHOOK_SECRET_KEY"
        if self.webhook_secret_key is None and self.environment != "local":
            raise ValueError(f"{name} is required outside the local environment")
        keys = [self.webhook_secret_key, *self.webhook_secret_previous_keys]
        for key in keys:
            if key is not None and len(key.get_secret_value()) < MIN_KEY_CHARACTERS:
                raise ValueError(
                    f"{name} and its previous keys need at least {MIN_KEY_CHARACTERS} characters"
                )
        if self.webhook_lease_seconds < 2 * self.webhook_timeout_seconds:
            raise ValueError("the webhook lease must be at least twice the webhook timeout")
        return self

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        key = self.webhook_secret_key
        self._sealer = SecretSealer(
            LOCAL_WEBHOOK_SECRET_KEY if key is None else key.get_secret_value(),
            [k.get_secret_value() for k in self.webhook_secret_previous_keys],
        )

    def delivery_policy(self) -> DeliveryPolicy:
        allow = self.webhook_allow_private_targets
        assert self._sealer is not None  # set in model_post_init
        return DeliveryPolicy(
            allow_private_targets=self.environment == "local" if allow is None else allow,
            retry_base=timedelta(seconds=self.webhook_retry_base_seconds),
            retry_cap=timedelta(seconds=self.webhook_retry_cap_seconds),
            max_failures=self.webhook_max_failures,
            sealer=self._sealer,
            lease=timedelta(seconds=self.webhook_lease_seconds),
            send_timeout=timedelta(seconds=self.webhook_timeout_seconds),
        )
