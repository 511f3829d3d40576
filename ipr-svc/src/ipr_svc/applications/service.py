from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession
from stdnum.vn import mst

from customs_shared.auth import Principal
from customs_shared.db import utcnow
from customs_shared.repository import Page
from ipr_svc.applications.errors import ApplicantNotEnterprise, ApplicationNotFound, RightExpired
from ipr_svc.applications.models import IprApplication
from ipr_svc.applications.repository import ApplicationRepository
from ipr_svc.applications.schemas import (
    DEFAULT_VALIDITY_YEARS,
    ApplicationIn,
    IprApplicantKind,
)


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def validity(filed_on: date, requested_until: date | None, right_until: date) -> date:
    """What the applicant asked for, or the default term; never past the right's term."""
    wanted = requested_until or _years_after(filed_on, DEFAULT_VALIDITY_YEARS)
    return min(wanted, right_until)


async def file(
    *, session: AsyncSession, principal: Principal, application: ApplicationIn
) -> IprApplication:
    today = utcnow().date()
    if application.applicant_kind is IprApplicantKind.ENTERPRISE and not mst.is_valid(
        principal.tenant
    ):
        raise ApplicantNotEnterprise(
            f"Your tenant {principal.tenant} is not a Vietnamese tax code: file as an "
            "individual (applicant_kind individual), or from the enterprise's own account."
        )
    if application.right_valid_until <= today:
        raise RightExpired(f"The right ended on {application.right_valid_until}.")
    row = IprApplication(
        applicant_tenant=principal.tenant,
        applicant_kind=application.applicant_kind.value,
        representative=None
        if application.representative is None
        else application.representative.model_dump(),
        status="filed",
        right_type=application.right_type.value,
        registration_number=application.registration_number,
        registration_office=application.registration_office,
        owner=application.owner,
        right_valid_until=application.right_valid_until,
        goods=[g.model_dump() for g in application.goods],
        authorised_importers=list(application.authorised_importers),
        suspected_infringers=[p.model_dump() for p in application.suspected_infringers],
        offices=list(application.offices),
        valid_from=today,
        valid_until=validity(
            today, application.requested_valid_until, application.right_valid_until
        ),
        contact=application.contact.model_dump(),
        notification_url=str(application.notification_url)
        if application.notification_url
        else None,
        filed_at=utcnow(),
    )
    ApplicationRepository(session).add(row)
    await session.flush()
    return row


async def get(
    *, session: AsyncSession, principal: Principal, application_id: uuid.UUID
) -> IprApplication:
    return await ApplicationRepository(session).get_visible_or_404(
        application_id,
        principal,
        ApplicationNotFound(f"No IPR application {application_id}."),
    )


async def listing(
    *,
    session: AsyncSession,
    principal: Principal,
    limit: int,
    after: uuid.UUID | None = None,
) -> Page[IprApplication]:
    return await ApplicationRepository(session).page_visible(principal, after=after, limit=limit)
