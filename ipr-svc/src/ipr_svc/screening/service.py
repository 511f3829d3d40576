from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.auth import Principal
from customs_shared.db import utcnow
from customs_shared.events import catalog
from customs_shared.events.schemas import DeclarationSubmitted, IprOutcome, IprScreened
from customs_shared.messaging.outbox import add_event
from ipr_svc.screening.errors import ScreeningNotFound
from ipr_svc.screening.index import ActiveRecord
from ipr_svc.screening.matching import build_index, screen
from ipr_svc.screening.models import IprRecord, IprScreening
from ipr_svc.screening.repository import IprRecordRepository, IprScreeningRepository

SOURCE = "/customs/ipr-svc"


def active_record(row: IprRecord) -> ActiveRecord:
    return ActiveRecord(
        record_id=str(row.id),
        holder=row.holder_tenant,
        brands=tuple(row.brands),
        hs_headings=frozenset(row.hs_headings),
        authorised=frozenset(row.authorised_importers),
        offices=frozenset(row.offices),
    )


async def screen_declaration(session: AsyncSession, submitted: DeclarationSubmitted) -> None:
    records = await IprRecordRepository(session).active(utcnow())
    # Interim: the index is built from the table per declaration; it is meant to live in
    # memory, fed by the compacted records topic.
    index = build_index(active_record(r) for r in records)
    hits = screen(index, submitted)
    if not records:
        outcome = IprOutcome.NO_RECORDS
    else:
        outcome = IprOutcome.HIT if hits else IprOutcome.CLEAR
    first = await IprScreeningRepository(session).insert_if_absent(
        declaration_id=submitted.declaration_id,
        tenant=submitted.tenant,
        outcome=outcome,
        records_checked=len(records),
        hits=[h.model_dump() for h in hits],
    )
    if not first:
        return  # a re-sent submission keeps its first screening
    add_event(
        session,
        catalog.IPR_SCREENED,
        source=SOURCE,
        key=str(submitted.declaration_id),
        data=IprScreened(
            declaration_id=submitted.declaration_id,
            version=submitted.version,
            tenant=submitted.tenant,
            outcome=outcome,
            hits=hits,
            records_checked=len(records),
        ),
    )


async def rescreen_amended(session: AsyncSession, amended: DeclarationSubmitted) -> None:
    """An amendment is a new version of the declaration: its screening replaces the last."""
    await IprScreeningRepository(session).delete(amended.declaration_id)
    await screen_declaration(session, amended)


async def get(
    *, session: AsyncSession, principal: Principal, declaration_id: uuid.UUID
) -> IprScreening:
    return await IprScreeningRepository(session).get_visible_or_404(
        declaration_id,
        principal,
        ScreeningNotFound(f"No IPR screening for declaration {declaration_id}."),
    )
