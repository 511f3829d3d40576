from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from customs_shared.services import IPR
from customs_shared.settings import ServiceSettings


class IprSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix=IPR.prefix, extra="ignore")

    spec = IPR
