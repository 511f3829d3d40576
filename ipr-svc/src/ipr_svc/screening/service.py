from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.auth import Principal
from customs_shared.db import utcnow
from customs_shared.events import catalog
from customs_shared.events.schemas import DeclarationSubmitted, IprOutcome, IprScreened
from customs_shared.messaging.outbox import add_event
from customs_shared.repository import Page
from ipr_svc.screening.errors import ScreeningNotFound
from ipr_svc.screening.index import RecordIndex
from ipr_svc.screening.matching import screen
from ipr_svc.screening.models import IprHitRow, IprScreening
from ipr_svc.screening.replica import ACTIVE
from ipr_svc.screening.repository import IprHitRepository, IprScreeningRepository

SOURCE = "/customs/ipr-svc"
READY_TIMEOUT_SECONDS = 30.0


async def screen_submitted(session: AsyncSession, submitted: DeclarationSubmitted) -> None:
    """The handler: screens against this replica's index once it has caught up."""
    async with asyncio.timeout(READY_TIMEOUT_SECONDS):  # then retried: still loading
        index = await ACTIVE.caught_up()
    await screen_declaration(session, submitted, index)


async def rescreen_amended(session: AsyncSession, amended: DeclarationSubmitted) -> None:
    async with asyncio.timeout(READY_TIMEOUT_SECONDS):
        index = await ACTIVE.caught_up()
    await rescreen(session, amended, index)


async def rescreen(
    session: AsyncSession, amended: DeclarationSubmitted, index: RecordIndex
) -> None:
    """An amendment is a new version of the declaration: its screening replaces the last."""
    await IprScreeningRepository(session).delete(amended.declaration_id)
    await screen_declaration(session, amended, index)


async def find_screenings(session: AsyncSession, events: Sequence[DeclarationSubmitted]) -> None:
    """Before a batch's handlers: which of its declarations are screened already, in one
    statement instead of one per declaration."""
    await IprScreeningRepository(session).load_presence([e.declaration_id for e in events])


async def screen_declaration(
    session: AsyncSession, submitted: DeclarationSubmitted, index: RecordIndex
) -> None:
    repository = IprScreeningRepository(session)
    if await repository.exists(submitted.declaration_id):
        return  # a re-sent submission keeps its first screening
    matches, hits = screen(index, submitted)
    if not len(index):
        outcome = IprOutcome.NO_RECORDS
    else:
        outcome = IprOutcome.HIT if hits else IprOutcome.CLEAR
    # Written with the commit's one statement. Should a concurrent screening of the same
    # submission commit first, this commit fails and the batch is handled again, record
    # by record, finding that screening.
    repository.insert_at_commit(
        {
            "declaration_id": submitted.declaration_id,
            "tenant": submitted.tenant,
            "outcome": outcome,
            "records_checked": len(index),
            "hits": [h.model_dump() for h in hits],
        }
    )
    holders = {m.record.record_id: m.record.holder for m in matches}
    for hit in hits:
        session.add(
            IprHitRow(
                declaration_id=submitted.declaration_id,
                version=submitted.version,
                item_line=hit.item_line,
                record_id=hit.record_id,
                holder_tenant=holders[hit.record_id],
                matched=hit.matched,
                text=hit.text or "",
                score=hit.score or 0.0,
                why=hit.why or "",
                screened_at=utcnow(),
            )
        )
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
            records_checked=len(index),
        ),
    )


async def get(
    *, session: AsyncSession, principal: Principal, declaration_id: uuid.UUID
) -> IprScreening:
    return await IprScreeningRepository(session).get_visible_or_404(
        declaration_id,
        principal,
        ScreeningNotFound(f"No IPR screening for declaration {declaration_id}."),
    )


async def hits(
    *,
    session: AsyncSession,
    principal: Principal,
    limit: int,
    after: uuid.UUID | None = None,
) -> Page[IprHitRow]:
    return await IprHitRepository(session).page_visible(principal, after=after, limit=limit)
