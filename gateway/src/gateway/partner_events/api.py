"""``POST /api/v1/partner-events`` (structured CloudEvents, one or a batch) and the read-back."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from customs_shared.auth import Principal, Role, Scope, allow
from customs_shared.problems import (
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    problem_responses,
)
from gateway.errors import KafkaUnavailable
from gateway.partner_events import service
from gateway.partner_events.errors import (
    InvalidPartnerEvent,
    PartnerEventIdReused,
    PartnerEventNotAllowed,
    UnsupportedMediaType,
)
from gateway.partner_events.schemas import (
    BatchResult,
    Outcome,
    PartnerEventResult,
    PartnerEventView,
)
from gateway.state import ApiLimiter, Clients, Publisher, Sessions, Settings

router = APIRouter(prefix="/api/v1/partner-events", tags=["partner-events"])

SINGLE = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"

Partner = Annotated[Principal, allow(Scope.PARTNER_EVENTS_WRITE, frozenset({Role.PARTNER_AGENCY}))]
Reader = Annotated[
    Principal, allow(Scope.PARTNER_EVENTS_WRITE, frozenset({Role.PARTNER_AGENCY, Role.ADMIN}))
]


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _sender(principal: Principal, clients: Clients) -> service.Sender:
    client = clients.get(principal.subject)
    if client is None:
        raise PartnerEventNotAllowed("This client is no longer registered.")
    return service.Sender(
        client_id=client.client_id,
        event_types=frozenset(client.partner_event_types),
        source=client.partner_event_source,
    )


@router.post(
    "",
    status_code=202,
    summary="Push partner events: one structured CloudEvent (application/cloudevents+json) "
    "or a batch (application/cloudevents-batch+json), answered per event.",
    response_model=PartnerEventResult | BatchResult,
    responses=problem_responses(
        Unauthorized,
        InvalidPartnerEvent,
        PartnerEventNotAllowed,
        PartnerEventIdReused,
        KafkaUnavailable,
        UnsupportedMediaType,
        TooManyRequests,
    ),
)
async def push(
    request: Request,
    principal: Partner,
    clients: Clients,
    limiter: ApiLimiter,
    sessions: Sessions,
    publisher: Publisher,
    settings: Settings,
) -> JSONResponse:
    await limiter.check(principal.subject)
    media_type = _media_type(request)
    if media_type not in (SINGLE, BATCH):
        raise UnsupportedMediaType(f"Send {SINGLE} or {BATCH}.")
    try:
        body = json.loads(await request.body())
    except (ValueError, RecursionError):  # RecursionError: nested too deep to parse
        raise InvalidPartnerEvent("The body is not JSON.") from None
    sender = _sender(principal, clients)
    if media_type == SINGLE:
        result = await service.ingest(body, sender, sessions, publisher)
        return JSONResponse(result.model_dump(mode="json"), status_code=202)

    limit = settings.partner_batch_max_events
    if not isinstance(body, list) or not body:
        raise InvalidPartnerEvent("A batch is a non-empty JSON array of CloudEvents.")
    if len(body) > limit:
        raise InvalidPartnerEvent(f"A batch holds at most {limit} events.", max_events=limit)
    results = await service.ingest_batch(body, sender, sessions, publisher)
    counts = {outcome: sum(r.outcome is outcome for r in results) for outcome in Outcome}
    batch = BatchResult(
        accepted=counts[Outcome.ACCEPTED],
        duplicates=counts[Outcome.DUPLICATE],
        rejected=counts[Outcome.REJECTED],
        unavailable=counts[Outcome.UNAVAILABLE],
        results=results,
    )
    if batch.unavailable:
        # Some events were not published: the partner sends the batch again later, and
        # the ones already accepted come back as duplicates.
        retry_after = publisher.unavailable().headers() or {}
        return JSONResponse(batch.model_dump(mode="json"), status_code=503, headers=retry_after)
    status = 202 if not batch.rejected else 200
    return JSONResponse(batch.model_dump(mode="json"), status_code=status)


@router.get(
    "/{source:path}/{event_id}",
    summary="A partner event the caller pushed: received, published, and routing's use of it.",
    response_model=PartnerEventView,
    responses=problem_responses(Unauthorized, Forbidden, NotFound),
)
async def read_back(
    source: str, event_id: str, principal: Reader, clients: Clients, sessions: Sessions
) -> PartnerEventView:
    if not principal.has_any(Role.ADMIN):
        client = clients.get(principal.subject)
        if client is None or client.partner_event_source != source:
            raise NotFound("No such partner event.")
    view = await service.read_back(sessions, source, event_id)
    if view is None:
        raise NotFound("No such partner event.")
    return view
