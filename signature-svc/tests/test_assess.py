from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from customs_shared.events.schemas import DeclarantKind, DeclarationSubmitted, SignatureStatus
from signature_svc.checks.service import assess


def submitted(kind: DeclarantKind, signed: bool) -> DeclarationSubmitted:
    return DeclarationSubmitted(
        declaration_id=uuid.uuid4(),
        tenant="0314409058",
        declarant_tax_code="0314409058" if kind is DeclarantKind.ENTERPRISE else None,
        declarant_kind=kind,
        declaration_type="import",
        customs_office="02CI",
        currency="VND",
        total_customs_value=Decimal(1),
        items=[],
        signature_present=signed,
        submitted_at=datetime.now(UTC),
    )


@pytest.mark.parametrize(
    ("kind", "signed", "expected"),
    [
        (DeclarantKind.INDIVIDUAL, False, SignatureStatus.NOT_REQUIRED),
        (DeclarantKind.INDIVIDUAL, True, SignatureStatus.NOT_REQUIRED),
        (DeclarantKind.ENTERPRISE, False, SignatureStatus.MISSING),
        (DeclarantKind.ENTERPRISE, True, SignatureStatus.PRESENT),
    ],
)
def test_assess(kind: DeclarantKind, signed: bool, expected: SignatureStatus) -> None:
    status, detail = assess(submitted(kind, signed))
    assert status is expected
    assert detail
