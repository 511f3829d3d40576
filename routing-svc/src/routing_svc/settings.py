from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from customs_shared.services import ROUTING
from customs_shared.settings import ServiceSettings


class RoutingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix=ROUTING.prefix, extra="ignore")

    spec = ROUTING
    screening_timeout_seconds: float = Field(
        default=30.0, description="Decide without a missing screening result after this long."
    )
    sweep_interval_seconds: float = 1.0
    high_value_threshold: Decimal = Field(
        default=Decimal("2000000000"),
        description="Declared total (VND) at or above which goods get a document check.",
    )
    invalid_signature_outcome: Literal["red", "reject"] = Field(
        default="red",
        description="What an enterprise's invalid signature leads to: a red lane (physical "
        "inspection) or the declaration's rejection (it must be submitted again, signed).",
    )
