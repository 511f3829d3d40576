"""All SQL of the audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.auth import Principal
from routing_svc.audit.models import AuditEntry


def record(
    session: AsyncSession,
    principal: Principal | str,
    action: str,
    subject: str,
    detail: dict[str, Any],
) -> AuditEntry:
    """Adds an entry to the request's transaction: it commits with the change it records."""
    actor = principal if isinstance(principal, str) else principal.subject
    entry = AuditEntry(actor=actor, action=action, subject=subject, detail=detail)
    session.add(entry)
    return entry


async def entries(
    session: AsyncSession, *, subject_prefix: str | None, before_id: int | None, limit: int
) -> Sequence[AuditEntry]:
    statement = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if subject_prefix is not None:
        statement = statement.where(AuditEntry.subject.startswith(subject_prefix, autoescape=True))
    if before_id is not None:
        statement = statement.where(AuditEntry.id < before_id)
    return (await session.scalars(statement)).all()
