"""Signatures are untrusted input (OWASP API4 and API10): CMS built like a zip bomb (DER
nested thousands deep, lengths declared far past the end, indefinite lengths that never
close, a valid signature padded to the size limit) gives a report that fails its format
check, quickly, never an exception and never a pass."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from signature_svc.verification.report import CheckName, CheckStatus, Indication
from signature_svc.verification.trust import (
    TrustMaterial,
    load_certificates,
    load_crl,
)
from signature_svc.verification.verifier import Verifier
from tests.support.pki import SCENARIOS, Pki

# The id of CMS SignedData, so a parser goes past the outer shell.
_SIGNED_DATA_OID = bytes.fromhex("06092a864886f70d010702")


def _nested(depth: int) -> bytes:
    inner = b"\x05\x00"
    for _ in range(depth):
        inner = b"\x30\x84" + len(inner).to_bytes(4, "big") + inner
    return inner


BOMBS: dict[str, Callable[[bytes], bytes]] = {
    "nested-5000-deep": lambda _: _nested(5_000),
    "signed-data-nested-deep": lambda _: b"\x30\x80" + _SIGNED_DATA_OID + b"\xa0\x80" * 20_000,
    "indefinite-never-closed": lambda _: b"\x30\x80" * 100_000,
    "declared-4-gib": lambda _: b"\x30\x84\xff\xff\xff\xff" + _SIGNED_DATA_OID,
    "declared-length-past-the-end": lambda cms: b"\x30\x84\x7f\xff\xff\xff" + cms[6:],
    "set-of-100k-empty-elements": lambda _: b"\x31\x83\x03\x0d\x40" + b"\x05\x00" * 100_000,
    "valid-signature-padded": lambda cms: cms + b"\x00" * 2_900_000,
    "integer-of-1-mib": lambda _: b"\x02\x83\x10\x00\x00" + b"\x7f" * 1_048_576,
}


def _trust(pki: Pki) -> TrustMaterial:
    return TrustMaterial.build(
        load_certificates(pki.anchors.read_bytes()),
        load_certificates(pki.intermediates.read_bytes()),
        [load_crl(p.read_bytes()) for p in pki.crls],
    )


@pytest.mark.parametrize("name", BOMBS)
async def test_a_cms_bomb_fails_its_format_check_quickly(test_pki: Pki, name: str) -> None:
    document, signature = SCENARIOS[0].files(test_pki)
    bomb = BOMBS[name](signature)
    started = time.monotonic()
    report = await Verifier(_trust(test_pki)).verify_signature(bomb, document=document)
    elapsed = time.monotonic() - started
    assert report.indication is not Indication.TOTAL_PASSED
    format_check = report.checks[0]
    assert format_check.name is CheckName.FORMAT
    assert format_check.status is not CheckStatus.PASSED, name
    assert elapsed < 3.0, elapsed
