"""A declaration's lifecycle: which status may follow which, and every move recorded.

Screening and routing move a declaration to its lane (and to another one when routing
re-decides it before release); officers then release, hold,
reject or inspect it; the trader may cancel it, or amend it (back to screening), until
it is released. Anything else is refused with the reason."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NoReturn, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.db import utcnow
from customs_shared.notifications.service import notify
from declaration_svc.declarations.errors import IllegalTransition
from declaration_svc.declarations.models import Declaration, DeclarationStatus, TimelineEntry
from declaration_svc.declarations.repository import DeclarationRepository

S = DeclarationStatus
LANES = frozenset({S.LANE_GREEN, S.LANE_YELLOW, S.LANE_RED})
# Released, rejected and cancelled declarations are closed: nothing follows them.
FINAL = frozenset({S.RELEASED, S.REJECTED, S.CANCELLED})
# A trader may amend (back to RECEIVED) or cancel what customs has neither released nor
# decided, except while its goods are under inspection: amendments end with the notice of
# a physical inspection.
_NEXT: dict[DeclarationStatus, frozenset[DeclarationStatus]] = {
    S.RECEIVED: frozenset({S.SCREENING, *LANES, S.CANCELLED, S.RECEIVED}),
    S.SCREENING: frozenset({*LANES, S.CANCELLED, S.RECEIVED}),
    # Routing re-decides a lane before release: intelligence raises it, an officer's
    # override may also lower it.
    S.LANE_GREEN: frozenset(
        {S.LANE_YELLOW, S.LANE_RED, S.RELEASED, S.HELD, S.CANCELLED, S.RECEIVED}
    ),
    S.LANE_YELLOW: frozenset(
        {
            S.LANE_RED,
            S.LANE_GREEN,
            S.RELEASED,
            S.HELD,
            S.REJECTED,
            S.UNDER_INSPECTION,
            S.CANCELLED,
            S.RECEIVED,
        }
    ),
    S.LANE_RED: frozenset(
        {
            S.LANE_YELLOW,
            S.LANE_GREEN,
            S.UNDER_INSPECTION,
            S.HELD,
            S.REJECTED,
            S.CANCELLED,
            S.RECEIVED,
        }
    ),
    S.UNDER_INSPECTION: frozenset({S.RELEASED, S.HELD, S.REJECTED}),
    S.HELD: frozenset({S.RELEASED, S.REJECTED, S.UNDER_INSPECTION, S.CANCELLED, S.RECEIVED}),
    S.AMENDED: frozenset(),  # kept for rows written before amendments were versions
    **{final: frozenset() for final in FINAL},
}


def allowed(current: str, target: DeclarationStatus) -> bool:
    return target in _NEXT[DeclarationStatus(current)]


def _why_not(current: DeclarationStatus, target: DeclarationStatus) -> str:
    if current in FINAL:
        return f"The declaration is {current} and closed; it cannot become {target}."
    options = ", ".join(sorted(_NEXT[current])) or "nothing"
    return f"A {current} declaration cannot become {target}; it may become: {options}."


def refuse(declaration: Declaration, target: DeclarationStatus, *, action: str) -> NoReturn:
    """Raises the 409 for a declaration whose status does not allow ``action``."""
    current = DeclarationStatus(declaration.status)
    raise IllegalTransition(
        f"A {current} declaration cannot be {action}.",
        current_status=current,
        requested_status=target,
    )


def move(
    session: AsyncSession,
    declaration: Declaration,
    target: DeclarationStatus,
    *,
    actor: str,
    event: str,
    why: str,
) -> None:
    """Moves ``declaration`` to ``target`` and records who, when, from, to and why;
    an illegal move raises ``IllegalTransition`` (409) and changes nothing."""
    current = DeclarationStatus(declaration.status)
    if not allowed(current, target):
        raise IllegalTransition(
            _why_not(current, target), current_status=current, requested_status=target
        )
    declaration.status = target
    record(session, declaration, event, why, actor=actor, from_status=current)


def record(
    session: AsyncSession,
    declaration: Declaration,
    event: str,
    why: str,
    *,
    actor: str,
    from_status: str | None = None,
) -> None:
    """A timeline entry at the declaration's current status (its "to"), told to the
    declaration's tenant as a notification in the same transaction."""
    declaration.updated_at = utcnow()
    entry = TimelineEntry(
        declaration_id=declaration.id,
        at=declaration.updated_at,
        actor=actor[:128],
        from_status=from_status or declaration.status,
        status=declaration.status,
        event=event,
        detail=why[:1000],
    )
    DeclarationRepository(session).add_timeline_entry(entry)
    notify_entry(session, declaration, entry)


class Notified(Protocol):
    """What a notification tells of its declaration: a loaded one, or one just
    submitted (:class:`declaration_svc.declarations.service.NewDeclaration`)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def tenant(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def lane(self) -> str | None: ...


class Entry(Protocol):
    """A timeline entry as its notification tells of it: a row, or one being queued."""

    @property
    def at(self) -> datetime: ...
    @property
    def actor(self) -> str | None: ...
    @property
    def from_status(self) -> str | None: ...
    @property
    def status(self) -> str: ...
    @property
    def event(self) -> str: ...
    @property
    def detail(self) -> str: ...


def notify_entry(session: AsyncSession, declaration: Notified, entry: Entry) -> None:
    notify(
        session,
        tenant=declaration.tenant,
        type=f"declaration.{entry.event}",
        data={
            "declaration_id": str(declaration.id),
            "version": declaration.version,
            "status": entry.status,
            "from_status": entry.from_status,
            "lane": declaration.lane,
            "actor": entry.actor,
            "at": entry.at.isoformat(),
            "detail": entry.detail,
        },
    )
