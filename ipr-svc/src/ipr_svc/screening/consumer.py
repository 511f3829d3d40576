from __future__ import annotations

from collections.abc import Mapping

from customs_shared.events import catalog
from customs_shared.events.catalog import EventType
from customs_shared.messaging.consumer import Handler
from ipr_svc.screening import service

HANDLERS: Mapping[EventType, Handler] = {catalog.DECLARATION_SUBMITTED: service.screen_declaration}
