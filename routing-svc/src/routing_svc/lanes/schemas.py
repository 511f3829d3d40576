from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import ConfigDict

from customs_shared.events.schemas import LaneVerdict


class LaneDecisionOut(LaneVerdict):
    """A declaration's lane as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    declaration_id: uuid.UUID
    decided_at: datetime
