"""CRLs are untrusted input (OWASP API10, unsafe consumption): whatever arrives as a CRL
(garbage, DER that nests deep or declares lengths far past its end, a real CRL cut short
or with one byte changed, several CRLs in one upload) is refused with TrustMaterialError,
the one error the upload turns into a 422 problem, quickly, and leaves the trust as it
was: a signature whose CA has no CRL in force stays TRY_LATER, never passes."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from asn1crypto import pem

from signature_svc.verification.report import Indication
from signature_svc.verification.trust import (
    TrustMaterial,
    TrustMaterialError,
    crl_issuer_of,
    load_certificates,
    load_crl,
)
from signature_svc.verification.verifier import Verifier
from tests.support.pki import SCENARIOS, Pki


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def _der(pki: Pki) -> bytes:
    raw = pki.ca_crl.read_bytes()
    return pem.unarmor(raw)[2] if pem.detect(raw) else raw


HOSTILE: dict[str, Callable[[Pki], bytes]] = {
    "empty": lambda _: b"",
    "one-byte": lambda _: b"\x30",
    "text": lambda _: b"not a CRL at all",
    "nested-indefinite-lengths": lambda _: b"\x30\x80" * 50_000,
    "nested-definite-lengths": lambda _: b"".join(
        b"\x30\x84" + (4 * (2_000 - n)).to_bytes(4, "big") for n in range(2_000)
    ),
    "declared-4-gib": lambda _: b"\x30\x84\xff\xff\xff\xff" + b"\x00" * 64,
    "declared-length-past-the-end": lambda p: b"\x30\x83\x7f\xff\xff" + _der(p)[4:],
    "truncated": lambda p: _der(p)[: len(_der(p)) // 2],
    "signature-byte-changed": lambda p: _flip(_der(p), len(_der(p)) - 1),
    "revocation-list-byte-changed": lambda p: _flip(_der(p), len(_der(p)) // 3),
    "trailing-garbage": lambda p: _der(p) + b"\x00" * 16,
    "two-crls-in-one-pem": lambda p: pem.armor("X509 CRL", _der(p)) * 2,
    "pem-around-garbage": lambda _: pem.armor("X509 CRL", b"\x30\x03\x02\x01\x01"),
    "3-mb-of-zeros": lambda _: b"\x00" * 3_000_000,
    "certificate-not-crl": lambda p: p.anchors.read_bytes(),
}


def _without_ca_crl(pki: Pki) -> TrustMaterial:
    return TrustMaterial.build(
        load_certificates(pki.anchors.read_bytes()),
        load_certificates(pki.intermediates.read_bytes()),
        [load_crl(pki.root_crl.read_bytes())],
    )


def test_the_genuine_crl_is_accepted(test_pki: Pki) -> None:
    # So each refusal below is for the change made, not for the CRL itself.
    trust = _without_ca_crl(test_pki)
    assert crl_issuer_of(load_crl(_der(test_pki)), trust.cas) is not None


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_crl_is_refused_quickly(test_pki: Pki, name: str) -> None:
    data = HOSTILE[name](test_pki)
    trust = _without_ca_crl(test_pki)
    started = time.monotonic()
    with pytest.raises(TrustMaterialError):
        trust.with_crl(load_crl(data))
    assert time.monotonic() - started < 2.0


async def test_no_hostile_crl_makes_a_signature_pass(test_pki: Pki) -> None:
    document, signature = SCENARIOS[0].files(test_pki)
    trust = _without_ca_crl(test_pki)
    for name, make in HOSTILE.items():
        try:
            trust = trust.with_crl(load_crl(make(test_pki)))
        except TrustMaterialError:
            continue
        pytest.fail(f"{name} was accepted")
    report = await Verifier(trust).verify_signature(signature, document=document)
    assert report.indication is not Indication.TOTAL_PASSED
    assert report.sub_indication == "TRY_LATER"
