from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, UploadFile
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.vn import mst

from customs_shared.auth import (
    CUSTOMS_STAFF,
    RIGHT_HOLDERS,
    TRADERS_AND_CUSTOMS,
    Principal,
    Scope,
    allow,
)
from customs_shared.db import DbSession
from customs_shared.problems import Forbidden, Unauthorized, problem_responses
from signature_svc.reports import service
from signature_svc.reports.errors import (
    InvalidTaxCode,
    PartTooLarge,
    ReportNotFound,
    ValidationTimeNotAllowed,
)
from signature_svc.reports.schemas import ReportOut
from signature_svc.trust_runtime import TrustRuntime, trust_runtime

router = APIRouter(prefix="/api/v1/signatures", tags=["signatures"])

Reader = Annotated[Principal, allow(Scope.SIGNATURES_READ, TRADERS_AND_CUSTOMS)]
# A right holder reads the reports on its IPR application's attachments (its tenant's).
ReportReader = Annotated[
    Principal, allow(Scope.SIGNATURES_READ, TRADERS_AND_CUSTOMS | RIGHT_HOLDERS)
]
Trust = Annotated[TrustRuntime, Depends(trust_runtime)]


async def read_part(upload: UploadFile, limit: int) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise PartTooLarge(f"The part {upload.filename or ''} exceeds {limit} bytes.".strip())
    return data


def valid_tax_code(value: str) -> str:
    try:
        return str(mst.format(mst.validate(value)))
    except StdnumError as e:
        raise InvalidTaxCode(f"{value!r} is not a valid tax code: {e}") from e


@router.post(
    "/verify",
    response_model=ReportOut,
    responses=problem_responses(
        Unauthorized, Forbidden, ValidationTimeNotAllowed, PartTooLarge, InvalidTaxCode
    ),
    summary="Verify a detached CMS signature over a document; 200 with a report, "
    "whatever the verdict.",
)
async def verify(
    principal: Reader,
    session: DbSession,
    trust: Trust,
    document: Annotated[UploadFile, File(description="The signed file.")],
    signature: Annotated[
        UploadFile, File(description="Detached CMS/PKCS#7 signature (.p7s), DER or PEM.")
    ],
    tax_code: Annotated[str, Form(description="Tax code of the enterprise whose document it is.")],
    validation_time: Annotated[
        datetime | None,
        Form(description="ISO 8601; the time to validate at (officers and admins only)."),
    ] = None,
) -> ReportOut:
    if validation_time is not None and not principal.has_any(*CUSTOMS_STAFF):
        raise ValidationTimeNotAllowed("Only officers and admins may set validation_time.")
    if validation_time is not None and validation_time.tzinfo is None:
        validation_time = validation_time.replace(tzinfo=UTC)
    limit = trust.settings.max_part_bytes
    row = await service.verify_upload(
        session=session,
        verifier=trust.verifier,
        principal=principal,
        document=await read_part(document, limit),
        signature=await read_part(signature, limit),
        tax_code=valid_tax_code(tax_code),
        validation_time=validation_time,
    )
    return service.to_out(row)


@router.get(
    "/reports/{report_id}",
    response_model=ReportOut,
    responses=problem_responses(Unauthorized, Forbidden, ReportNotFound),
    summary="One stored signature report.",
)
async def get_report(
    report_id: uuid.UUID, principal: ReportReader, session: DbSession
) -> ReportOut:
    return service.to_out(
        await service.get(session=session, principal=principal, report_id=report_id)
    )
