from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from customs_shared.settings import ServiceSettings


class SignatureSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SIGNATURE_", extra="ignore")

    service_name: str = "signature-svc"
    port: int = 8002
    internal_port: int = 9002
