from __future__ import annotations

from datetime import date

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from customs_shared.notifications.settings import NotifyingServiceSettings
from customs_shared.services import IPR


class IprSettings(NotifyingServiceSettings):
    model_config = SettingsConfigDict(env_prefix=IPR.prefix, extra="ignore")

    spec = IPR
    record_expiry_interval_seconds: float = Field(
        default=300.0, gt=0, description="How often records past their validity are expired."
    )
    suspension_closed_days: list[date] = Field(
        default_factory=list,
        description="Extra days customs is closed (JSON list of ISO dates), skipped like "
        "weekends and Vietnam's public holidays when counting a suspension's working days.",
    )
