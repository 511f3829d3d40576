from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from customs_shared.filestore import DatabaseStore, DirectoryStore, FileStore
from customs_shared.notifications.settings import NotifyingServiceSettings
from customs_shared.services import IPR
from ipr_svc.attachments.models import IprAttachmentBlob


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
    attachment_storage: Literal["database", "directory"] = Field(
        default="database",
        description="Where application attachments' bytes are kept: in the database (in "
        "the request's transaction) or as files under attachment_directory.",
    )
    attachment_directory: Path = Field(
        default=Path(".run/ipr-svc/attachments"),
        description="Root of the directory store (attachment_storage=directory).",
    )

    def attachment_store(self) -> FileStore:
        if self.attachment_storage == "directory":
            return DirectoryStore(self.attachment_directory)
        return DatabaseStore(IprAttachmentBlob)
