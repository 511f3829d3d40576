from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from customs_shared.settings import ServiceSettings


class IprSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IPR_", extra="ignore")

    service_name: str = "ipr-svc"
    port: int = 8003
    internal_port: int = 9003
