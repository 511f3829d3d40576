"""File uploads with a detached signature, as every service that takes files reads them:
a part read up to its cap (never the whole of an oversized one), and a detached CMS
signature accepted as DER or PEM and kept as DER."""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Callable
from datetime import datetime

from fastapi import UploadFile
from pydantic import BaseModel, ConfigDict, Field

from customs_shared.events.schemas import SignatureStatus
from customs_shared.problems import ProblemError

# One upload: 3 MB, decimal (SI) as the limit is stated; a larger file is sent in parts.
MEGABYTE = 1_000_000
FILE_MAX_BYTES = 3 * MEGABYTE
SIGNATURE_MAX_BYTES = 256 * 1024
_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)
_DER_SEQUENCE = 0x30


async def read_at_most(
    upload: UploadFile, limit: int, too_large: Callable[[int], ProblemError]
) -> bytes:
    """The part's bytes; ``too_large(limit)`` is raised when it holds more than ``limit``."""
    content = await upload.read(limit + 1)
    if len(content) > limit:
        raise too_large(limit)
    return content


def signature_der(raw: bytes, invalid: Callable[[str], ProblemError]) -> bytes:
    """A detached CMS signature as DER, from DER or PEM (PKCS7 / CMS armour); anything
    else raises ``invalid(reason)``."""
    pem = _PEM.search(raw)
    if pem is not None:
        try:
            raw = base64.b64decode(b"".join(pem.group(2).split()), validate=True)
        except binascii.Error as exc:
            raise invalid("The PEM signature's base64 is broken.") from exc
    if not raw or raw[0] != _DER_SEQUENCE:
        raise invalid(
            "The signature is neither DER (an ASN.1 SEQUENCE) nor PEM; send the .p7s file."
        )
    return raw


class StoredFileOut(BaseModel):
    """The fields every service shows of a stored upload (its subclasses add what it
    belongs to and its type)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    signed: bool
    signature_status: SignatureStatus | None = Field(
        description="signature-svc's verdict (valid, invalid, indeterminate, missing, "
        "not_required); null until it has checked the signature."
    )
    signature_report_id: uuid.UUID | None = Field(
        description="GET /api/v1/signatures/reports/{signature_report_id}."
    )
    uploaded_by: str
    uploaded_at: datetime
