"""Partner event ingress: validate each CloudEvent for its client, produce it once.

Each event is its own unit: its row is claimed by (source, id), the event produced,
and the row kept only after Kafka acknowledged it, so a failed send leaves nothing
behind and the partner's retry is a first attempt again. A repeated event with the
same content is answered as a duplicate and not produced again. A batch's events are
claimed in one statement and produced together, without waiting for each event's
acknowledgement before the next is sent; each is answered by its own acknowledgement."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.db import utcnow
from customs_shared.events.catalog import PARTNER_EVENT_TYPES
from customs_shared.events.envelope import RawCloudEvent
from customs_shared.events.schemas import PartnerEventData
from customs_shared.problems import ProblemError
from gateway.partner_events import repository
from gateway.partner_events.errors import (
    InvalidPartnerEvent,
    PartnerEventIdReused,
    PartnerEventNotAllowed,
)
from gateway.partner_events.models import PartnerEventRecord
from gateway.partner_events.schemas import Outcome, PartnerEventResult, PartnerEventView
from gateway.publisher import KafkaPublisher

_TYPES = {event_type.name: event_type for event_type in PARTNER_EVENT_TYPES}


@dataclass(frozen=True, slots=True)
class Sender:
    """The authenticated partner: what it may send, and as which source."""

    client_id: str
    event_types: frozenset[str]
    source: str | None


@dataclass(frozen=True, slots=True)
class Prepared:
    envelope: RawCloudEvent
    subject: str
    value: bytes
    digest: str


def _field_errors(exc: ValidationError, prefix: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return [
        {"loc": [*prefix, *error["loc"]], "msg": error["msg"], "type": error["type"]}
        for error in exc.errors()
    ]


# CloudEvents 1.0 extension attributes: names of lower-case letters and digits, at most
# 20, and values of a scalar type. A partner's anything else is refused here, before it
# is stored or produced (a value nested deep could not even be serialised back).
_EXTENSION_NAME = re.compile(r"[a-z0-9]{1,20}")
_MAX_EXTENSIONS = 20
_MAX_EXTENSION_CHARS = 2048
_INT32 = range(-(2**31), 2**31)


def _extension_errors(extensions: dict[str, Any]) -> list[dict[str, Any]]:
    if len(extensions) > _MAX_EXTENSIONS:
        return [
            {
                "loc": [],
                "msg": f"at most {_MAX_EXTENSIONS} extension attributes",
                "type": "too_long",
            }
        ]
    errors = []
    for name, value in extensions.items():
        scalar = (isinstance(value, str) and len(value) <= _MAX_EXTENSION_CHARS) or (
            isinstance(value, int) and (isinstance(value, bool) or value in _INT32)
        )
        if _EXTENSION_NAME.fullmatch(name) is None or not scalar:
            errors.append(
                {
                    "loc": [name[:40]],
                    "msg": "an extension attribute: a lower-case name of at most 20 letters "
                    f"or digits, with a string (at most {_MAX_EXTENSION_CHARS} characters), "
                    "integer or boolean value",
                    "type": "value_error",
                }
            )
    return errors


def prepare(raw: object, sender: Sender) -> Prepared:
    """The event as it will be produced, or the problem that refuses it."""
    if not isinstance(raw, dict):
        raise InvalidPartnerEvent("Each event must be a JSON object (a structured CloudEvent).")
    try:
        envelope = RawCloudEvent.model_validate(raw)
    except ValidationError as exc:
        raise InvalidPartnerEvent(
            "The CloudEvent is not valid.", errors=_field_errors(exc)
        ) from None
    extension_errors = _extension_errors(envelope.model_extra or {})
    if extension_errors:
        raise InvalidPartnerEvent("The CloudEvent is not valid.", errors=extension_errors)
    event_type = _TYPES.get(envelope.type)
    if event_type is None or envelope.type not in sender.event_types:
        raise PartnerEventNotAllowed(f"This client may not send events of type {envelope.type!r}.")
    if envelope.source != sender.source:
        raise PartnerEventNotAllowed(f"This client's events must have source {sender.source!r}.")
    try:
        data = event_type.data.model_validate(envelope.data)
    except ValidationError as exc:
        raise InvalidPartnerEvent(
            f"The data does not match the schema of {envelope.type}.",
            errors=_field_errors(exc, ("data",)),
        ) from None
    if not isinstance(data, PartnerEventData):  # the catalog's partner types are all such
        raise TypeError(f"{envelope.type} has no partner event schema")
    if envelope.subject is not None and envelope.subject != data.subject:
        raise InvalidPartnerEvent(
            f"The subject must be {data.subject!r}.",
            errors=[{"loc": ["subject"], "msg": "does not match data", "type": "value_error"}],
        )
    body = {
        key: value
        for key, value in envelope.model_dump(mode="json", exclude={"data"}).items()
        if value is not None  # CloudEvents has no null attributes
    }
    body["subject"] = data.subject
    body["data"] = data.model_dump(mode="json", by_alias=True)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return Prepared(
        envelope=envelope,
        subject=data.subject,
        value=json.dumps(body).encode(),
        digest=hashlib.sha256(canonical.encode()).hexdigest(),
    )


# One event's answer: its result, or the problem that refused it.
Answer = PartnerEventResult | ProblemError


def _id_reused(prepared: Prepared) -> PartnerEventIdReused:
    envelope = prepared.envelope
    return PartnerEventIdReused(
        f"Event {envelope.id!r} of {envelope.source!r} was accepted with other content; "
        "a new event needs a new id."
    )


def _known(record: PartnerEventRecord, prepared: Prepared) -> Answer:
    if record.digest != prepared.digest:
        return _id_reused(prepared)
    return PartnerEventResult(
        id=record.event_id,
        source=record.source,
        status=202,
        outcome=Outcome.DUPLICATE,
        event=PartnerEventView.model_validate(record),
    )


async def ingest(
    raw: object,
    sender: Sender,
    sessions: async_sessionmaker[AsyncSession],
    publisher: KafkaPublisher,
) -> PartnerEventResult:
    """Accepts one event; raises a problem when it is refused or cannot be published."""
    (outcome,) = await _ingest([raw], sender, sessions, publisher)
    if isinstance(outcome, ProblemError):
        raise outcome
    return outcome


async def ingest_batch(
    raws: Sequence[object],
    sender: Sender,
    sessions: async_sessionmaker[AsyncSession],
    publisher: KafkaPublisher,
) -> list[PartnerEventResult]:
    """Each event's result, in the batch's order: accepted, duplicate, or why not."""
    outcomes = await _ingest(raws, sender, sessions, publisher)
    return [
        refused(raw, outcome) if isinstance(outcome, ProblemError) else outcome
        for raw, outcome in zip(raws, outcomes, strict=True)
    ]


async def _ingest(
    raws: Sequence[object],
    sender: Sender,
    sessions: async_sessionmaker[AsyncSession],
    publisher: KafkaPublisher,
) -> list[Answer]:
    outcomes: dict[int, Answer] = {}
    firsts: dict[str, tuple[int, Prepared]] = {}
    repeats: list[tuple[int, Prepared, int]] = []  # an id the batch already holds
    for index, raw in enumerate(raws):
        try:
            prepared = prepare(raw, sender)
        except ProblemError as exc:
            outcomes[index] = exc
            continue
        first, _ = firsts.setdefault(prepared.envelope.id, (index, prepared))
        if first != index:
            repeats.append((index, prepared, first))
    if firsts:
        async with sessions() as session, session.begin():
            await _claim_and_publish(session, list(firsts.values()), sender, publisher, outcomes)
    for index, prepared, first in repeats:
        outcomes[index] = _repeated(outcomes[first], firsts[prepared.envelope.id][1], prepared)
    return [outcomes[index] for index in range(len(raws))]


async def _claim_and_publish(
    session: AsyncSession,
    events: list[tuple[int, Prepared]],
    sender: Sender,
    publisher: KafkaPublisher,
    outcomes: dict[int, Answer],
) -> None:
    """Claims the events' rows, produces the new ones all at once and keeps the rows of
    those Kafka acknowledged; the transaction commits after, so a row committed is an
    event published, and an event not acknowledged leaves nothing behind."""
    source = events[0][1].envelope.source  # one per client, checked by prepare
    known = await repository.get_many(session, source, [p.envelope.id for _, p in events])
    fresh: list[tuple[int, Prepared, PartnerEventRecord]] = []
    for index, prepared in events:
        existing = known.get(prepared.envelope.id)
        if existing is not None:
            outcomes[index] = _known(existing, prepared)
        else:
            fresh.append((index, prepared, _record(prepared, sender)))
    claimed = await repository.claim_many(session, [record for _, _, record in fresh])
    mine: list[tuple[int, PartnerEventRecord]] = []
    values: list[tuple[str, bytes]] = []
    for index, prepared, record in fresh:
        if record.event_id in claimed:
            mine.append((index, record))
            values.append((prepared.subject, prepared.value))
            continue
        # A concurrent request with the same event committed first.
        existing = await repository.get(session, record.source, record.event_id)
        outcomes[index] = (
            publisher.unavailable() if existing is None else _known(existing, prepared)
        )
    acks = await publisher.publish_many(values)
    published: list[PartnerEventRecord] = []
    failed: list[str] = []
    for (index, record), ack in zip(mine, acks, strict=True):
        if isinstance(ack, ProblemError):
            outcomes[index] = ack
            failed.append(record.event_id)
            continue
        record.published_at, record.partition, record.offset = utcnow(), ack.partition, ack.offset
        published.append(record)
        outcomes[index] = PartnerEventResult(
            id=record.event_id,
            source=record.source,
            status=202,
            outcome=Outcome.ACCEPTED,
            event=PartnerEventView.model_validate(record),
        )
    await repository.mark_published_many(session, published)
    await repository.release(session, source, failed)


def _record(prepared: Prepared, sender: Sender) -> PartnerEventRecord:
    envelope = prepared.envelope
    return PartnerEventRecord(
        source=envelope.source,
        event_id=envelope.id,
        type=envelope.type,
        subject=prepared.subject,
        client_id=sender.client_id,
        digest=prepared.digest,
        received_at=utcnow(),
    )


def _repeated(first: Answer, sent_first: Prepared, prepared: Prepared) -> Answer:
    """An id a batch holds twice is answered as the first: a duplicate of it once it
    was accepted, else the same problem."""
    if isinstance(first, ProblemError):
        return first
    if sent_first.digest != prepared.digest:
        return _id_reused(prepared)
    return first.model_copy(update={"outcome": Outcome.DUPLICATE})


def refused(raw: object, exc: ProblemError) -> PartnerEventResult:
    """One event's result in a batch when it was not accepted."""
    ident = raw.get("id") if isinstance(raw, dict) else None
    source = raw.get("source") if isinstance(raw, dict) else None
    problem: dict[str, Any] = {
        "type": exc.type_uri(),
        "title": exc.title,
        "status": exc.status,
        "detail": exc.detail,
        **exc.extensions,
    }
    return PartnerEventResult(
        id=ident if isinstance(ident, str) else None,
        source=source if isinstance(source, str) else None,
        status=exc.status,
        outcome=Outcome.UNAVAILABLE if exc.status == 503 else Outcome.REJECTED,
        problem=problem,
    )


async def read_back(
    sessions: async_sessionmaker[AsyncSession], source: str, event_id: str
) -> PartnerEventView | None:
    async with sessions() as session:
        record = await repository.get(session, source, event_id)
        return PartnerEventView.model_validate(record) if record is not None else None
