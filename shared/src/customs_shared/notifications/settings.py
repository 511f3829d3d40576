"""Settings of a service that notifies: its prefix applies (DECLARATION_WEBHOOK_…,
IPR_WEBHOOK_…)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from customs_shared.notifications.service import DeliveryPolicy
from customs_shared.settings import ServiceSettings


class NotifyingServiceSettings(ServiceSettings):
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
    notification_settle_seconds: float = Field(
        default=1.0,
        ge=0,
        description="Age a notification must reach before it is pulled or pushed, so one "
        "whose transaction commits late is not passed over.",
    )

    def delivery_policy(self) -> DeliveryPolicy:
        allow = self.webhook_allow_private_targets
        return DeliveryPolicy(
            allow_private_targets=self.environment == "local" if allow is None else allow,
            retry_base=timedelta(seconds=self.webhook_retry_base_seconds),
            retry_cap=timedelta(seconds=self.webhook_retry_cap_seconds),
            max_failures=self.webhook_max_failures,
            settle=timedelta(seconds=self.notification_settle_seconds),
        )
