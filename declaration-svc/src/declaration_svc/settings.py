from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from customs_shared.settings import ServiceSettings


class DeclarationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DECLARATION_", extra="ignore")

    service_name: str = "declaration-svc"
    port: int = 8001
    internal_port: int = 9001
