from __future__ import annotations

import pytest

from customs_shared.events.schemas import DeclarantKind, DeclarationSubmitted, SignatureStatus
from signature_svc.checks.service import assess
from tests.support.factories import declaration_submitted


def submitted(kind: DeclarantKind, signed: bool) -> DeclarationSubmitted:
    return declaration_submitted(declarant_kind=kind, signature_present=signed, signature_cms=None)


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
    outcome = assess(submitted(kind, signed))
    assert outcome is not None
    status, detail = outcome
    assert status is expected
    assert detail


def test_a_signature_with_its_cms_bytes_is_to_be_verified() -> None:
    data = declaration_submitted(signature_cms="MIAG", signed_sha256="00" * 32)
    assert assess(data) is None
