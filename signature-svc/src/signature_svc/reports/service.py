"""Verifying uploaded signatures and storing the reports."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.auth import Principal
from signature_svc.certificates.service import registered_fingerprints
from signature_svc.reports.errors import ReportNotFound
from signature_svc.reports.models import VerificationReport
from signature_svc.reports.repository import ReportRepository
from signature_svc.reports.schemas import ReportOut
from signature_svc.verification.report import Report
from signature_svc.verification.verifier import Verifier


def report_values(
    report: Report,
    *,
    tenant: str,
    tax_code: str | None,
    declaration_id: uuid.UUID | None = None,
    document_sha256: bytes | None = None,
) -> dict[str, Any]:
    """A stored report's columns. As values, not an ORM object: a batch of declarations'
    checks queues one per event, and the object's instrumentation was most of the cost."""
    return {
        "id": uuid.uuid4(),
        "tenant": tenant,
        "tax_code": tax_code,
        "declaration_id": declaration_id,
        "indication": report.indication,
        "sub_indication": report.sub_indication,
        "signer_fingerprint": report.signer.sha256_fingerprint if report.signer else None,
        "document_sha256": document_sha256.hex() if document_sha256 else None,
        "report": report.to_json(),
    }


async def store(session: AsyncSession, values: dict[str, Any]) -> VerificationReport:
    """Stores an upload's report at once: the answer shows the stored row."""
    row = VerificationReport(**values)
    ReportRepository(session).add(row)
    await session.flush()
    return row


def store_at_commit(session: AsyncSession, values: dict[str, Any]) -> uuid.UUID:
    """Stores the report of an event's signature with the batch's other new rows at
    commit (no flush, and so no statement, per event); its id, for the event to link."""
    ReportRepository(session).insert_at_commit(values)
    report_id: uuid.UUID = values["id"]
    return report_id


async def verify_upload(
    *,
    session: AsyncSession,
    verifier: Verifier,
    principal: Principal,
    document: bytes,
    signature: bytes,
    tax_code: str,
    validation_time: datetime | None,
) -> VerificationReport:
    report = await verifier.verify_signature(
        signature,
        document=document,
        at=validation_time,
        tax_code=tax_code,
        registered=await registered_fingerprints(session, tax_code),
    )
    return await store(
        session,
        report_values(
            report,
            tenant=principal.tenant,
            tax_code=tax_code,
            document_sha256=hashlib.sha256(document).digest(),
        ),
    )


async def get(
    *, session: AsyncSession, principal: Principal, report_id: uuid.UUID
) -> VerificationReport:
    return await ReportRepository(session).get_visible_or_404(
        report_id, principal, ReportNotFound(f"No signature report {report_id}.")
    )


def to_out(row: VerificationReport) -> ReportOut:
    return ReportOut.model_validate(
        {
            **row.report,
            "id": row.id,
            "declaration_id": row.declaration_id,
            "tax_code": row.tax_code,
            "document_sha256": row.document_sha256,
            "created_at": row.created_at,
        }
    )
