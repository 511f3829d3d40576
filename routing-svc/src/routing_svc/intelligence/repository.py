"""All SQL of partner intelligence."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.db import (
    any_of,
    forget_per_transaction,
    insert_if_absent,
    insert_values_at_commit,
    once_per_transaction,
    per_transaction,
    upsert,
    utcnow,
    write_queued,
)
from customs_shared.events.schemas import (
    CertificateStatus,
    OriginCertificate,
    RadiationAlarm,
    RiskAlert,
)
from routing_svc.intelligence.models import (
    CaseContainer,
    OriginCertificateRecord,
    RadiationAlarmRecord,
    RiskAlertRecord,
)
from routing_svc.lanes.models import RoutingCase

# What a consumer's batch of decisions may need, loaded for all of them at once (the
# keys asked for, the rows found), until the transaction stores an alarm or certificate.
_ALARMS_PREFETCHED = "radiation_alarms_prefetched"
_CERTIFICATES_PREFETCHED = "origin_certificates_prefetched"


async def prefetch(
    session: AsyncSession, *, containers: Iterable[str], references: Iterable[str], at: datetime
) -> None:
    """Loads the alarms on ``containers`` in force at ``at`` and the certificates of
    ``references``, one query each; :func:`alarms_on` and :func:`certificates` then
    answer from them when they cover what they are asked."""
    numbers, wanted = set(containers), set(references)
    kept = per_transaction(session)
    kept[_ALARMS_PREFETCHED] = (numbers, at, await _alarms(session, numbers, at))
    kept[_CERTIFICATES_PREFETCHED] = (wanted, await _certificates(session, wanted))


def _forget_prefetched(session: AsyncSession) -> None:
    forget_per_transaction(session, _ALARMS_PREFETCHED)
    forget_per_transaction(session, _CERTIFICATES_PREFETCHED)


async def alarms_on(
    session: AsyncSession, containers: Iterable[str], at: datetime
) -> Sequence[RadiationAlarmRecord]:
    numbers = set(containers)
    prefetched: tuple[set[str], datetime, Sequence[RadiationAlarmRecord]] | None
    prefetched = per_transaction(session).get(_ALARMS_PREFETCHED)
    if prefetched is not None and numbers <= prefetched[0] and at >= prefetched[1]:
        return [a for a in prefetched[2] if a.container_number in numbers and a.valid_until > at]
    return await _alarms(session, numbers, at)


async def _alarms(
    session: AsyncSession, numbers: set[str], at: datetime
) -> Sequence[RadiationAlarmRecord]:
    if not numbers:
        return []
    dialect = session.get_bind().dialect.name
    statement = (
        select(RadiationAlarmRecord)
        .where(
            any_of(RadiationAlarmRecord.container_number, sorted(numbers), dialect),
            RadiationAlarmRecord.valid_until > at,
        )
        .order_by(RadiationAlarmRecord.received_at)
    )
    return (await session.scalars(statement)).all()


ALERTS_IN_FORCE = "risk_alerts_in_force"


async def alerts_in_force(session: AsyncSession, at: datetime) -> Sequence[RiskAlertRecord]:
    """Alerts whose window covers ``at``; their targets are matched per declaration.
    Read once per transaction (every decision of a batch sees the same alerts): those
    not yet expired at the first call, narrowed to ``at`` on each."""

    async def unexpired() -> Sequence[RiskAlertRecord]:
        statement = select(RiskAlertRecord).where(RiskAlertRecord.valid_until > at)
        return (await session.scalars(statement)).all()

    alerts = await once_per_transaction(session, ALERTS_IN_FORCE, unexpired)
    return [a for a in alerts if a.valid_from <= at < a.valid_until]


async def certificates(
    session: AsyncSession, references: Iterable[str]
) -> Sequence[OriginCertificateRecord]:
    wanted = set(references)
    prefetched: tuple[set[str], Sequence[OriginCertificateRecord]] | None
    prefetched = per_transaction(session).get(_CERTIFICATES_PREFETCHED)
    if prefetched is not None and wanted <= prefetched[0]:
        return [c for c in prefetched[1] if c.reference in wanted]
    return await _certificates(session, wanted)


async def _certificates(
    session: AsyncSession, wanted: set[str]
) -> Sequence[OriginCertificateRecord]:
    if not wanted:
        return []
    dialect = session.get_bind().dialect.name
    column = OriginCertificateRecord.reference
    statement = select(OriginCertificateRecord).where(any_of(column, sorted(wanted), dialect))
    return (await session.scalars(statement)).all()


def remember_containers(
    session: AsyncSession, declaration_id: uuid.UUID, containers: Iterable[str]
) -> None:
    """Written with the commit's one statement (:func:`cases_carrying` writes them first)."""
    insert_values_at_commit(
        session,
        CaseContainer,
        [
            {"container_number": n, "declaration_id": declaration_id}
            for n in sorted(set(containers))
        ],
        if_absent=True,
    )


async def store_alarm(
    session: AsyncSession, alarm_id: uuid.UUID, alarm: RadiationAlarm, valid_until: datetime
) -> bool:
    """Keeps an alarm once; True when it is new (the same alarm again is not)."""
    _forget_prefetched(session)
    return await insert_if_absent(
        session,
        RadiationAlarmRecord,
        event_id=alarm_id,
        container_number=alarm.container_number,
        valid_until=valid_until,
        data=alarm.model_dump(mode="json"),
        received_at=utcnow(),
    )


async def store_certificate(session: AsyncSession, certificate: OriginCertificate) -> bool:
    """Keeps the newest state of a certificate; True when it changed. A revocation is
    final: nothing issued later (a late or replayed event) brings the certificate back,
    and an older issue does not replace a newer one."""
    _forget_prefetched(session)
    data = certificate.model_dump(mode="json")
    stored = await session.get(OriginCertificateRecord, certificate.reference, with_for_update=True)
    if stored is None:
        return await insert_if_absent(
            session,
            OriginCertificateRecord,
            reference=certificate.reference,
            data=data,
            received_at=utcnow(),
        )
    current = OriginCertificate.model_validate(stored.data)
    if current.status is CertificateStatus.REVOKED or current == certificate:
        return False
    if certificate.status is CertificateStatus.ISSUED and certificate.issued_at < current.issued_at:
        return False
    stored.data = data
    stored.received_at = utcnow()
    return True


async def store_alert(
    session: AsyncSession, alert: RiskAlert, *, activated_at: datetime | None
) -> None:
    """Keeps the newest state of an alert (a partner may shorten or extend its window);
    ``activated_at`` None leaves it to the sweep at its window's start."""
    forget_per_transaction(session, ALERTS_IN_FORCE)
    await upsert(
        session,
        RiskAlertRecord,
        [
            {
                "alert_id": alert.alert_id,
                "valid_from": alert.valid_from,
                "valid_until": alert.valid_until,
                "data": alert.model_dump(mode="json", by_alias=True),
                "received_at": utcnow(),
                "activated_at": activated_at,
            }
        ],
        update=["valid_from", "valid_until", "data", "received_at", "activated_at"],
    )


async def alerts_opening(
    session: AsyncSession, at: datetime, limit: int
) -> Sequence[RiskAlertRecord]:
    """Alerts whose window has opened by ``at`` and that have not re-decided anything
    yet, locked; another replica's sweep skips them."""
    statement = (
        select(RiskAlertRecord)
        .where(
            RiskAlertRecord.activated_at.is_(None),
            RiskAlertRecord.valid_from <= at,
            RiskAlertRecord.valid_until > at,
        )
        .order_by(RiskAlertRecord.valid_from)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(statement)).all()


def _open_since(since: datetime) -> ColumnElement[bool]:
    """Not cancelled, and decided since ``since`` or not decided yet."""
    return and_(
        RoutingCase.cancelled_at.is_(None),
        or_(RoutingCase.decided_at.is_(None), RoutingCase.decided_at >= since),
    )


async def cases_carrying(
    session: AsyncSession, container: str, *, since: datetime, limit: int
) -> Sequence[RoutingCase]:
    """The open cases of declarations carrying ``container``, locked in id order (so two
    alarms never deadlock). Undecided ones are locked too: a decision in flight is waited
    for, and the row then read again shows it decided."""
    await write_queued(session)
    statement = (
        select(RoutingCase)
        .join(CaseContainer, CaseContainer.declaration_id == RoutingCase.declaration_id)
        .where(CaseContainer.container_number == container, _open_since(since))
        .order_by(RoutingCase.declaration_id)
        .limit(limit)
        .with_for_update(of=RoutingCase)
    )
    return (await session.scalars(statement)).all()


async def recently_decided(
    session: AsyncSession, *, since: datetime, limit: int
) -> Sequence[tuple[uuid.UUID, dict[str, Any]]]:
    """Ids and facts of the cases decided since ``since`` and not cancelled, newest first:
    the candidates an alert or a revoked certificate may concern."""
    statement = (
        select(RoutingCase.declaration_id, RoutingCase.facts)
        .where(
            RoutingCase.decided_at >= since,
            RoutingCase.cancelled_at.is_(None),
            RoutingCase.facts.is_not(None),
        )
        .order_by(RoutingCase.decided_at.desc())
        .limit(limit)
    )
    return [(row.declaration_id, row.facts) for row in await session.execute(statement)]
