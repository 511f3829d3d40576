"""Import of records still valid from the earlier system: validated row by row, expired
rows skipped, rows of one registration number merged, idempotent on re-upload."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.auth import Principal
from customs_shared.db import utcnow
from customs_shared.events import catalog
from customs_shared.events.schemas import IprRecordState
from customs_shared.messaging.outbox import add_event
from customs_shared.repository import Page
from ipr_svc.records.errors import MalformedImport
from ipr_svc.records.repository import RecordRepository
from ipr_svc.records.schemas import (
    MAX_ROWS,
    ImportReport,
    ImportRequest,
    RecordRow,
    RowOutcome,
    RowReport,
)
from ipr_svc.screening.models import IprRecord

SOURCE = "/customs/ipr-svc"
LIST_FIELDS = ("brands", "hs_headings", "authorised_importers", "offices")
CSV_LIST_SEPARATOR = ";"


def parse_json(body: bytes) -> list[dict[str, Any]]:
    try:
        return ImportRequest.model_validate(json.loads(body)).records
    except RecursionError as exc:  # nested too deep for the parser: a 500 otherwise
        raise MalformedImport('The body is not {"records": [...]}: nested too deep.') from exc
    except (ValueError, ValidationError) as exc:
        raise MalformedImport(f'The body is not {{"records": [...]}}: {exc}') from exc


def parse_csv(body: bytes) -> list[dict[str, Any]]:
    """A header row naming the fields, then one record a row; list cells are separated
    by ``;`` and an empty cell is an empty list or an absent value."""
    try:
        reader = csv.DictReader(io.StringIO(body.decode("utf-8-sig")))
        rows: list[dict[str, Any]] = []
        for raw in reader:
            if len(rows) >= MAX_ROWS:
                raise MalformedImport(f"At most {MAX_ROWS} rows.")
            row: dict[str, Any] = {}
            for name, value in raw.items():
                if name is None:  # more cells than the header names
                    row["_extra"] = value
                elif name in LIST_FIELDS:
                    row[name] = [v.strip() for v in (value or "").split(CSV_LIST_SEPARATOR)]
                    row[name] = [v for v in row[name] if v]
                elif value not in (None, ""):
                    row[name] = value
            rows.append(row)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise MalformedImport(f"The body is not UTF-8 CSV: {exc}") from exc
    return rows


def _reason(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}" for e in exc.errors()
    )


@dataclass
class _Merged:
    first_row: int
    row: RecordRow
    rows: list[int] = field(default_factory=list)


def _merge(into: RecordRow, other: RecordRow) -> RecordRow:
    """One record from two rows of a registration number: lists joined, the widest term."""
    values = into.model_dump()
    for name in LIST_FIELDS:
        joined = dict.fromkeys([*getattr(into, name), *getattr(other, name)])
        values[name] = list(joined)
    if not into.offices or not other.offices:
        values["offices"] = []  # one row concerns every office: so does the record
    values["valid_from"] = min(into.valid_from, other.valid_from)
    values["valid_until"] = max(into.valid_until, other.valid_until)
    values["holder_tax_code"] = into.holder_tax_code or other.holder_tax_code
    return RecordRow.model_validate(values)


def _at(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _values(row: RecordRow) -> dict[str, Any]:
    return {
        "right_type": row.right_type.value,
        "owner": row.owner,
        "holder_tenant": row.holder_tax_code or "",
        "brands": list(row.brands),
        "hs_headings": list(row.hs_headings),
        "authorised_importers": list(row.authorised_importers),
        "offices": list(row.offices),
        "valid_from": _at(row.valid_from),
        "valid_until": _at(row.valid_until),
        "status": "active",
    }


def state(record: IprRecord) -> IprRecordState:
    return IprRecordState(
        record_id=str(record.id),
        registration_number=record.registration_number,
        right_type=record.right_type,
        holder=record.holder_tenant,
        brands=record.brands,
        hs_headings=record.hs_headings,
        authorised_importers=record.authorised_importers,
        offices=record.offices,
        valid_from=record.valid_from,
        valid_until=record.valid_until,
        status=record.status,
    )


async def import_records(
    session: AsyncSession, rows: Sequence[dict[str, Any]], *, today: date | None = None
) -> ImportReport:
    today = today or utcnow().date()
    reports: dict[int, RowReport] = {}
    merged: dict[str, _Merged] = {}
    for number, raw in enumerate(rows, start=1):
        try:
            row = RecordRow.model_validate(raw)
        except ValidationError as exc:
            registration = raw.get("registration_number") if isinstance(raw, dict) else None
            reports[number] = RowReport(
                row=number,
                registration_number=registration if isinstance(registration, str) else None,
                outcome=RowOutcome.REJECTED,
                reason=_reason(exc),
            )
            continue
        if row.valid_until < today:
            reports[number] = RowReport(
                row=number,
                registration_number=row.registration_number,
                outcome=RowOutcome.SKIPPED,
                reason=f"expired on {row.valid_until}",
            )
            continue
        first = merged.get(row.registration_number)
        if first is None:
            merged[row.registration_number] = _Merged(number, row)
            continue
        first.row = _merge(first.row, row)
        first.rows.append(number)
    repository = RecordRepository(session)
    existing = await repository.by_registration_numbers(merged)
    for registration, group in merged.items():
        values = _values(group.row)
        record = existing.get(registration)
        if record is None:
            record = IprRecord(registration_number=registration, source="import", **values)
            repository.add(record)
            await session.flush()
            outcome = RowOutcome.IMPORTED
        elif all(getattr(record, name) == value for name, value in values.items()):
            outcome = RowOutcome.UNCHANGED
        else:
            for name, value in values.items():
                setattr(record, name, value)
            record.updated_at = utcnow()
            outcome = RowOutcome.UPDATED
        if outcome is not RowOutcome.UNCHANGED:
            add_event(
                session,
                catalog.IPR_RECORD_CHANGED,
                source=SOURCE,
                key=str(record.id),
                data=state(record),
            )
        reports[group.first_row] = RowReport(
            row=group.first_row,
            registration_number=registration,
            outcome=outcome,
            record_id=str(record.id),
        )
        for number in group.rows:
            reports[number] = RowReport(
                row=number,
                registration_number=registration,
                outcome=RowOutcome.MERGED,
                reason=f"same registration number as row {group.first_row}",
                record_id=str(record.id),
            )
    ordered = [reports[n] for n in sorted(reports)]
    return ImportReport(
        **{o.value: sum(r.outcome is o for r in ordered) for o in RowOutcome},
        rows=ordered,
    )


async def listing(
    *,
    session: AsyncSession,
    principal: Principal,
    limit: int,
    after: uuid.UUID | None = None,
) -> Page[IprRecord]:
    return await RecordRepository(session).page_visible(principal, after=after, limit=limit)
