"""Risk inputs: each change bumps the input's version and is audited with the value
before and after, in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.auth import Principal
from customs_shared.db import insert_if_absent, utcnow
from routing_svc.audit import repository as audit
from routing_svc.risk import repository
from routing_svc.risk.errors import RiskInputNotFound, VersionMismatch
from routing_svc.risk.models import RiskInput


@dataclass(frozen=True, slots=True)
class Stored:
    row: RiskInput
    created: bool


def subject(kind: str, key: str) -> str:
    return f"{kind}/{key}"


def _check(row: RiskInput | None, if_match: int | None, kind: str, key: str) -> None:
    if if_match is not None and (row is None or row.version != if_match):
        found = "does not exist" if row is None else f"is at version {row.version}"
        raise VersionMismatch(f"{subject(kind, key)} {found}, not {if_match}.")


async def get(session: AsyncSession, kind: str, key: str) -> RiskInput:
    row = await repository.get(session, kind, key)
    if row is None:
        raise RiskInputNotFound(f"There is no {subject(kind, key)}.")
    return row


async def page(
    session: AsyncSession, kind: str, *, after: str | None, limit: int
) -> Sequence[RiskInput]:
    return await repository.page(session, kind, after=after, limit=limit)


async def put(
    session: AsyncSession,
    principal: Principal,
    kind: str,
    key: str,
    value: dict[str, Any],
    *,
    if_match: int | None,
) -> Stored:
    """Creates the input at version 1 or replaces its value with the next version."""
    row = await repository.get(session, kind, key, lock=True)
    _check(row, if_match, kind, key)
    now = utcnow()
    created = False
    if row is None:
        values = {"kind": kind, "key": key, "value": value, "updated_by": principal.subject}
        # Two first writes at once: one inserts, the other updates what it inserted.
        created = await insert_if_absent(session, RiskInput, version=1, updated_at=now, **values)
        row = await repository.get(session, kind, key, lock=True)
        assert row is not None
    before = None if created else row.value
    if not created:
        row.version += 1
        row.value = value
        row.updated_by = principal.subject
        row.updated_at = now
    audit.record(
        session,
        principal,
        "risk-input.created" if created else "risk-input.updated",
        subject(kind, key),
        {"kind": kind, "key": key, "version": row.version, "before": before, "after": value},
    )
    return Stored(row, created)


async def delete(
    session: AsyncSession, principal: Principal, kind: str, key: str, *, if_match: int | None
) -> None:
    row = await repository.get(session, kind, key, lock=True)
    if row is None:
        raise RiskInputNotFound(f"There is no {subject(kind, key)}.")
    _check(row, if_match, kind, key)
    audit.record(
        session,
        principal,
        "risk-input.deleted",
        subject(kind, key),
        {"kind": kind, "key": key, "version": row.version, "before": row.value, "after": None},
    )
    await repository.remove(session, row)
