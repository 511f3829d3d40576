from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from customs_shared.services import SIGNATURE
from customs_shared.settings import ServiceSettings


class SignatureSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix=SIGNATURE.prefix, extra="ignore")

    spec = SIGNATURE
