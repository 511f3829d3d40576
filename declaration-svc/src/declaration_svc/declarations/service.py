"""Declarations: submission, reads, and the results other services send back."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.auth import Principal, Role, tenant_scope
from customs_shared.canonical import SentDigests
from customs_shared.db import (
    insert_values_at_commit,
    utcnow,
)
from customs_shared.events import catalog
from customs_shared.events.schemas import (
    DeclarationStatusChanged,
    DeclarationSubmitted,
    IprScreened,
    IprSuspensionChanged,
    ItemFacts,
    Lane,
    LaneAssigned,
    ScreeningForwarded,
    SignatureChecked,
)
from customs_shared.keys import KeyRing
from customs_shared.messaging.consumer import PermanentError
from customs_shared.messaging.outbox import add_event
from customs_shared.pagination import CursorCodec, KeysetPosition
from declaration_svc.declarations import idempotency, lifecycle
from declaration_svc.declarations.errors import (
    DeclarationNotFound,
    IprSuspended,
    NotYourEnterprise,
)
from declaration_svc.declarations.metrics import LANES, SUBMISSION_TO_LANE
from declaration_svc.declarations.models import (
    Declaration,
    DeclarationItem,
    DeclarationStatus,
    TimelineEntry,
)
from declaration_svc.declarations.repository import (
    WITH_ITEMS_AND_TIMELINE,
    DeclarationRepository,
    ListFilter,
)
from declaration_svc.declarations.schemas import DeclarationIn, ItemIn
from declaration_svc.rates import service as rates
from declaration_svc.receipts import service as receipts

SOURCE = "/customs/declaration-svc"
_ZERO = Decimal(0)

_SCREENABLE = {DeclarationStatus.RECEIVED, DeclarationStatus.SCREENING}
_SUSPENSION_COUNT = {"suspended": 1, "withdrawn": -1, "released": -1}


class VersionFacts(lifecycle.Notified, Protocol):
    """What the submitted or amended event tells of the version besides its body."""

    @property
    def total_customs_value(self) -> Decimal: ...
    @property
    def exchange_rate(self) -> Decimal | None: ...
    @property
    def total_customs_value_vnd(self) -> Decimal | None: ...


@dataclass(frozen=True, slots=True)
class NewDeclaration:
    """A declaration being submitted, as its event and notification tell of it. Its row
    is queued as plain values: an ORM object's thirty-odd instrumented attributes cost
    more than its insert."""

    id: uuid.UUID
    tenant: str
    total_customs_value: Decimal
    exchange_rate: Decimal | None
    total_customs_value_vnd: Decimal | None
    version: int = 1
    lane: str | None = None


@dataclass(frozen=True, slots=True)
class NewEntry:
    """The first timeline entry of a declaration being submitted, queued as values."""

    at: datetime
    actor: str
    detail: str
    from_status: None = None
    status: str = DeclarationStatus.RECEIVED
    event: str = "submitted"

    def columns(self, declaration_id: uuid.UUID) -> dict[str, Any]:
        return {
            "declaration_id": declaration_id,
            "at": self.at,
            "actor": self.actor,
            "from_status": self.from_status,
            "status": self.status,
            "event": self.event,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class Submission:
    declaration_id: uuid.UUID
    status: str
    replayed: bool
    receipt: str | None = None


def _request_hash(body: DeclarationIn) -> str:
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()


def _json(part: BaseModel | None) -> dict[str, Any] | None:
    """A nested part as its JSON column holds it (dates and decimals as strings)."""
    return None if part is None else part.model_dump(mode="json")


def content_columns(body: DeclarationIn, conversion: rates.Conversion) -> dict[str, Any]:
    """The declaration's columns that hold what the trader declared (not its progress)."""
    total = sum((i.customs_value for i in body.items), start=_ZERO)
    return {
        "declarant_kind": body.declarant.kind,
        "declarant_tax_code": body.declarant.tax_code,
        "declarant_name": body.declarant.name,
        "declaration_type": body.declaration_type,
        "type_code": body.type_code,
        "customs_office": body.customs_office,
        "currency": body.currency,
        "total_customs_value": total,
        "exchange_rate": conversion.vnd_per_unit,
        "total_customs_value_vnd": conversion.to_vnd(total),
        "containers": body.containers,
        "signature": body.signature,
        "broker": _json(body.broker),
        "transport": _json(body.transport),
        "countries": _json(body.countries),
        "incoterm": body.incoterm,
        "invoice": _json(body.invoice),
    }


def items_values(body: DeclarationIn, conversion: rates.Conversion) -> list[dict[str, Any]]:
    return [_item_values(n, item, conversion) for n, item in enumerate(body.items, start=1)]


def _item_values(line: int, item: ItemIn, conversion: rates.Conversion) -> dict[str, Any]:
    """One item's columns, which are also its facts in the submitted event."""
    values = item.model_dump(exclude={"preferential_origin"})
    return {
        "line": line,
        **values,
        "customs_value_vnd": conversion.to_vnd(item.customs_value),
        "preferential_origin": _json(item.preferential_origin),
    }


def check_declarant(principal: Principal, body: DeclarationIn) -> None:
    """Brokers declare on behalf of any enterprise; an enterprise that declares
    itself may name only its own tax code (or one of its branches')."""
    tax_code = body.declarant.tax_code
    if principal.has_any(Role.BROKER) or tax_code is None:
        return
    if tax_code.split("-")[0] != principal.tenant.split("-")[0]:
        raise NotYourEnterprise(f"Your tenant {principal.tenant} may not declare for {tax_code}.")


async def _claim_key(
    session: AsyncSession,
    principal: Principal,
    key: str,
    body: DeclarationIn,
    declaration_id: uuid.UUID,
) -> Submission | None:
    """Takes ``key`` for this submission (None), or the original answer of the submission
    that holds it (see :mod:`idempotency`)."""
    existing = await idempotency.claim(
        session, principal, key, _request_hash(body), declaration_id=declaration_id
    )
    if existing is None:
        return None
    # The original response, not the declaration as it stands now: an accepted submission
    # was RECEIVED, with its first version's receipt (its status is the status URL's).
    original = await receipts.of_version(session, existing.declaration_id, 1)
    return Submission(
        existing.declaration_id,
        DeclarationStatus.RECEIVED,
        replayed=True,
        receipt=original.jws if original is not None else None,
    )


def submitted_facts(
    declaration: VersionFacts,
    body: DeclarationIn,
    item_values: list[dict[str, Any]],
    *,
    at: datetime,
    sent: SentDigests | None,
) -> DeclarationSubmitted:
    """What the other services learn of a submitted or amended version: its facts, the
    CMS signature and the digest of the bytes it covers, never the signed bytes."""
    return DeclarationSubmitted(
        declaration_id=declaration.id,
        version=declaration.version,
        tenant=declaration.tenant,
        declarant_tax_code=body.declarant.tax_code,
        declarant_kind=body.declarant.kind,
        declaration_type=body.declaration_type,
        customs_office=body.customs_office,
        currency=body.currency,
        total_customs_value=declaration.total_customs_value,
        items=[ItemFacts(**values) for values in item_values],
        signature_present=body.signature is not None,
        submitted_at=at,
        signature_cms=body.signature,
        signed_sha256=sent.signed.hex() if sent and sent.signed and body.signature else None,
        exchange_rate=declaration.exchange_rate,
        total_customs_value_vnd=declaration.total_customs_value_vnd,
        containers=list(body.containers),
        export_country=body.countries.export if body.countries else None,
        transport_mode=body.transport.mode.value if body.transport else None,
    )


async def submit(
    *,
    session: AsyncSession,
    principal: Principal,
    body: DeclarationIn,
    idempotency_key: str | None,
    sent: SentDigests | None = None,
    receipt_keys: KeyRing | None = None,
) -> Submission:
    """Accepts a declaration; with ``receipt_keys``, signs its receipt. ``sent``: the
    digests of the body as sent (customs_shared.canonical): of the bytes its signature
    covers, which the event carries, and of the whole body, which the receipt names."""
    check_declarant(principal, body)
    declaration_id = uuid.uuid4()
    if idempotency_key is not None:
        replay = await _claim_key(session, principal, idempotency_key, body, declaration_id)
        if replay is not None:
            return replay

    now = utcnow()
    conversion = await rates.conversion(session, body.currency, now)
    item_values = items_values(body, conversion)
    columns = content_columns(body, conversion)
    declaration = NewDeclaration(
        id=declaration_id,
        tenant=principal.tenant,
        total_customs_value=columns["total_customs_value"],
        exchange_rate=columns["exchange_rate"],
        total_customs_value_vnd=columns["total_customs_value_vnd"],
    )
    entry = NewEntry(
        at=now,
        actor=principal.subject,
        detail=f"Submitted by {principal.subject} with {len(item_values)} item(s).",
    )
    # Written at commit without the unit of work (the hot path of intake), in one
    # statement with the notification, the outbox event and the receipt: nothing reads
    # them back in this transaction. The rows go as plain values, not ORM objects:
    # building and linking them cost more than the inserts.
    insert_values_at_commit(
        session,
        Declaration,
        [
            {
                "id": declaration_id,
                "tenant": principal.tenant,
                "submitted_by": principal.subject,
                "version": declaration.version,
                **columns,
                "status": DeclarationStatus.RECEIVED,
                "lane_reasons": [],
                "created_at": now,
                "updated_at": now,
            }
        ],
    )
    insert_values_at_commit(
        session, DeclarationItem, [{"declaration_id": declaration_id, **v} for v in item_values]
    )
    insert_values_at_commit(session, TimelineEntry, [entry.columns(declaration_id)])
    lifecycle.notify_entry(session, declaration, entry)
    add_event(
        session,
        catalog.DECLARATION_SUBMITTED,
        source=SOURCE,
        key=str(declaration_id),
        data=submitted_facts(declaration, body, item_values, at=now, sent=sent),
    )
    receipt = (
        None
        if receipt_keys is None
        else receipts.issue(
            session,
            receipt_keys,
            declaration_id=declaration_id,
            version=1,
            tenant=principal.tenant,
            body_sha256=receipts.body_digest(sent),
            received_at=now,
        )
    )
    return Submission(declaration_id, DeclarationStatus.RECEIVED, replayed=False, receipt=receipt)


async def get(
    *, session: AsyncSession, principal: Principal, declaration_id: uuid.UUID
) -> Declaration:
    return await DeclarationRepository(session).get_visible_or_404(
        declaration_id,
        principal,
        DeclarationNotFound(f"No declaration {declaration_id}."),
        options=WITH_ITEMS_AND_TIMELINE,
    )


async def list_page(
    *,
    session: AsyncSession,
    principal: Principal,
    cursors: CursorCodec,
    limit: int,
    cursor: str | None,
    filters: ListFilter,
) -> tuple[list[Declaration], str | None]:
    tenant = tenant_scope(principal)
    scope = filters.scope(tenant)
    after = cursors.decode(cursor, scope=scope) if cursor else None
    rows = await DeclarationRepository(session).page(
        tenant=tenant,
        limit=limit + 1,
        after=(after.created_at, after.id) if after else None,
        filters=filters,
    )
    page = list(rows[:limit])
    if len(rows) <= limit:
        return page, None
    last = KeysetPosition(page[-1].created_at, page[-1].id)
    return page, cursors.encode(last, scope=scope)


class _AboutDeclaration(Protocol):
    @property
    def declaration_id(self) -> uuid.UUID: ...


async def lock_declarations(session: AsyncSession, events: Sequence[_AboutDeclaration]) -> None:
    """Before a batch's result handlers: locks all its declarations in one statement, so
    that each handler finds its declaration without a round trip."""
    await DeclarationRepository(session).lock_all(e.declaration_id for e in events)


async def _locked(session: AsyncSession, declaration_id: uuid.UUID) -> Declaration:
    declaration = await DeclarationRepository(session).get_for_update(declaration_id)
    if declaration is None:
        raise PermanentError(f"unknown declaration {declaration_id}")
    return declaration


async def record_forwarded_screening(session: AsyncSession, data: ScreeningForwarded) -> None:
    """Screening results routing passed on after the lane (or without one: the
    declaration was cancelled)."""
    declaration = await _locked(session, data.declaration_id)
    if data.version != declaration.version:
        return  # results for a version an amendment replaced
    _record_screenings(session, declaration, data.signature, data.ipr)


def _record_screenings(
    session: AsyncSession,
    declaration: Declaration,
    signature: SignatureChecked | None,
    ipr: IprScreened | None,
) -> None:
    """Each result routing received reaches here once: in the version's first lane event
    if it came before the decision, otherwise forwarded on its own."""
    if signature is not None:
        declaration.signature_status = signature.status
        why = f"{signature.status}: {signature.detail}"
        _screened(session, declaration, "signature-svc", "signature_checked", why)
    if ipr is not None:
        declaration.ipr_outcome = ipr.outcome
        hits = ", ".join(f"line {h.item_line}: {h.matched}" for h in ipr.hits)
        why = f"{ipr.outcome} ({ipr.records_checked} records checked){': ' + hits if hits else ''}"
        _screened(session, declaration, "ipr-svc", "ipr_screened", why)


async def record_ipr_suspension(session: AsyncSession, data: IprSuspensionChanged) -> None:
    """IPR suspensions show in the timeline; a suspension holds the declaration, and the
    later steps (extended, confirmed, withdrawn, released) are recorded for the officer
    who decides on it."""
    declaration = await _locked(session, data.declaration_id)
    why = (
        f"line {data.item_line}, IPR record {data.record_id}: {data.status}, holder's "
        f"deadline {data.deadline}{' (extended)' if data.extended else ''}: {data.reason}"
    )
    event = f"ipr_suspension_{data.status}"
    # Each suspension is suspended once and lifted at most once (withdrawn by the holder
    # or released at its deadline); a confirmed one stays.
    declaration.ipr_suspensions_open += _SUSPENSION_COUNT.get(data.status, 0)
    held = DeclarationStatus.HELD
    if data.status == "suspended" and lifecycle.allowed(declaration.status, held):
        lifecycle.move(session, declaration, held, actor="ipr-svc", event=event, why=why)
    else:
        lifecycle.record(session, declaration, event, why, actor="ipr-svc")


def _screened(
    session: AsyncSession, declaration: Declaration, actor: str, event: str, why: str
) -> None:
    """A screening result: the first one starts screening; later ones, or results
    arriving after a cancellation, are only recorded."""
    if declaration.status == DeclarationStatus.RECEIVED:
        lifecycle.move(
            session, declaration, DeclarationStatus.SCREENING, actor=actor, event=event, why=why
        )
    else:
        lifecycle.record(session, declaration, event, why, actor=actor)


async def record_lane(session: AsyncSession, data: LaneAssigned) -> None:
    """Routing's lane for the current version. The first one moves the declaration to its
    lane; a re-decision of the same version (a higher ``revision``: intelligence raised it,
    or an officer overrode it) replaces it. Anything older changes nothing."""
    declaration = await _locked(session, data.declaration_id)
    if data.version != declaration.version:
        return  # a replaced version's lane: the newest version's is the current one
    if declaration.lane is None:
        _record_screenings(session, declaration, data.signature, data.ipr)
        _first_lane(session, declaration, data)
        _hold_if_suspended(session, declaration)
    elif data.revision > declaration.lane_revision:
        _lane_redecided(session, declaration, data)
    # else: a redelivered or overtaken decision of this version changes nothing


def _hold_if_suspended(session: AsyncSession, declaration: Declaration) -> None:
    """A suspension that came while the declaration was still being screened (only
    recorded then: there was no lane to leave) holds it as soon as it has its lane."""
    held = DeclarationStatus.HELD
    if declaration.status not in lifecycle.LANES or not lifecycle.allowed(declaration.status, held):
        return
    if declaration.ipr_suspensions_open > 0:
        lifecycle.move(
            session,
            declaration,
            held,
            actor="ipr-svc",
            event="ipr_suspension_held",
            why="An IPR suspension of release, recorded during screening, holds the goods.",
        )


def _take_lane(declaration: Declaration, data: LaneAssigned) -> str:
    """Stores the verdict on the declaration; the timeline's why."""
    declaration.lane = data.lane
    declaration.lane_reasons = [r.model_dump(mode="json") for r in data.reasons]
    declaration.rule_set_version = data.rule_set_version
    declaration.lane_revision = data.revision
    return f"{data.lane}: " + "; ".join(r.explanation for r in data.reasons)


def _first_lane(session: AsyncSession, declaration: Declaration, data: LaneAssigned) -> None:
    why = _take_lane(declaration, data)
    if declaration.status in _SCREENABLE:
        lifecycle.move(
            session,
            declaration,
            _lane_status(data.lane),
            actor="routing-svc",
            event="lane_assigned",
            why=why,
        )
    else:
        lifecycle.record(session, declaration, "lane_assigned", why, actor="routing-svc")
    _reject_if_decided(session, declaration, data)
    # Counted once: a redelivered decision returns above. (A batch rolled back after this
    # and retried would count twice; rare, and only ever over.)
    LANES.labels(data.lane).inc()
    latency = (declaration.updated_at - declaration.created_at).total_seconds()
    SUBMISSION_TO_LANE.labels(data.lane).observe(latency)


def _lane_redecided(session: AsyncSession, declaration: Declaration, data: LaneAssigned) -> None:
    """A declaration still in a lane moves to the new one; one further on (inspected,
    held, released…) keeps its status, and the timeline says what routing decided."""
    was = declaration.lane
    why = f"revision {data.revision}, was {was}; " + _take_lane(declaration, data)
    target = _lane_status(data.lane)
    if declaration.status in lifecycle.LANES and declaration.status != target:
        lifecycle.move(
            session, declaration, target, actor="routing-svc", event="lane_redecided", why=why
        )
    else:
        lifecycle.record(session, declaration, "lane_redecided", why, actor="routing-svc")
    _reject_if_decided(session, declaration, data)


def _lane_status(lane: Lane) -> DeclarationStatus:
    return DeclarationStatus(f"LANE_{lane.upper()}")


def _reject_if_decided(session: AsyncSession, declaration: Declaration, data: LaneAssigned) -> None:
    if data.rejected and lifecycle.allowed(declaration.status, DeclarationStatus.REJECTED):
        reasons = "; ".join(r.explanation for r in data.reasons)
        lifecycle.move(
            session,
            declaration,
            DeclarationStatus.REJECTED,
            actor="routing-svc",
            event="rejected",
            why=f"Rejected: {reasons}",
        )


async def change_status(
    *,
    session: AsyncSession,
    principal: Principal,
    declaration_id: uuid.UUID,
    target: DeclarationStatus,
    reason: str,
) -> Declaration:
    """An officer's decision: inspect, hold, release or reject (409 when the
    declaration's status does not allow it)."""
    repository = DeclarationRepository(session)
    declaration = await repository.get_visible_for_update_or_404(
        declaration_id, principal, DeclarationNotFound(f"No declaration {declaration_id}.")
    )
    if target == DeclarationStatus.RELEASED and declaration.ipr_suspensions_open > 0:
        raise IprSuspended(
            "Clearance is suspended on an IPR hit: no release until the holder withdraws "
            "or the deadline passes."
        )
    previous = declaration.status
    lifecycle.move(
        session,
        declaration,
        target,
        actor=principal.subject,
        event=f"status_{target.lower()}",
        why=reason,
    )
    add_event(
        session,
        catalog.DECLARATION_STATUS_CHANGED,
        source=SOURCE,
        key=str(declaration.id),
        data=DeclarationStatusChanged(
            declaration_id=declaration.id,
            version=declaration.version,
            tenant=declaration.tenant,
            status=target,
            previous_status=previous,
            actor=principal.subject,
            reason=reason,
            changed_at=utcnow(),
        ),
    )
    await session.flush()  # sessions do not autoflush: a re-read must see the change
    return declaration
