"""The verification core against a PKI made by the OpenSSL command line: every scenario
reaches its indication from the document and from the SHA-256 of the document alone."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deploy.local.pki import openssl
from signature_svc.verification.report import CheckName, CheckStatus, Indication
from signature_svc.verification.trust import (
    TrustMaterial,
    TrustMaterialError,
    fingerprint,
    load_certificate,
    load_certificates,
    load_crl,
)
from signature_svc.verification.verifier import Policy, RevocationMode, Verifier
from tests.support.pki import SCENARIOS, TAX_CODE_A, Pki, Scenario


def trust_of(pki: Pki, *, without_ca_crl: bool = False) -> TrustMaterial:
    crls = [pki.root_crl] if without_ca_crl else list(pki.crls)
    return TrustMaterial.build(
        load_certificates(pki.anchors.read_bytes()),
        load_certificates(pki.intermediates.read_bytes()),
        [load_crl(p.read_bytes()) for p in crls],
    )


def registered_for_a(pki: Pki) -> set[str]:
    return {
        fingerprint(load_certificate(s.cert.read_bytes()))
        for s in (pki.enterprise_a, pki.enterprise_a_ec)
    }


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
@pytest.mark.parametrize("source", ["document", "digest"])
async def test_each_scenario_gets_its_indication(
    test_pki: Pki, scenario: Scenario, source: str
) -> None:
    document, signature = scenario.files(test_pki)
    verifier = Verifier(trust_of(test_pki, without_ca_crl=scenario.without_ca_crl))
    given_bytes = (
        {"document": document}
        if source == "document"
        else {"sha256": hashlib.sha256(document).digest()}
    )
    report = await verifier.verify_signature(
        signature, tax_code=TAX_CODE_A, registered=registered_for_a(test_pki), **given_bytes
    )
    assert (report.indication, report.sub_indication) == (
        scenario.indication,
        scenario.sub_indication,
    ), report.checks
    if report.indication is Indication.TOTAL_PASSED:
        assert report.signer is not None
        assert report.signer.tax_codes == [TAX_CODE_A]
        assert report.enterprise_binding is not None
        assert report.enterprise_binding.registered
        assert {e.crl_issuer for e in report.revocation_evidence} == {
            "Common Name: Test Licensed CA, Organization: Test Licensed CA, Country: VN",
            "Common Name: Test Root CA, Organization: Test Root, Country: VN",
        }
        assert all(c.status is CheckStatus.PASSED for c in report.checks)


async def test_without_a_tax_code_no_binding_is_checked(test_pki: Pki) -> None:
    scenario = next(s for s in SCENARIOS if s.name == "another-enterprise")
    document, signature = scenario.files(test_pki)
    report = await Verifier(trust_of(test_pki)).verify_signature(signature, document=document)
    assert report.indication is Indication.TOTAL_PASSED
    assert report.enterprise_binding is None


async def test_revocation_off_and_soft_fail_pass_without_the_ca_crl(test_pki: Pki) -> None:
    document, signature = SCENARIOS[0].files(test_pki)
    trust = trust_of(test_pki, without_ca_crl=True)
    for mode in (RevocationMode.SOFT_FAIL, RevocationMode.OFF):
        report = await Verifier(trust, Policy(revocation=mode)).verify_signature(
            signature, document=document
        )
        assert report.indication is Indication.TOTAL_PASSED, mode


async def test_embedded_intermediate_builds_the_path_but_is_never_trusted(
    test_pki: Pki,
) -> None:
    document = test_pki.folder / "embedded.bin"
    document.write_bytes(b"embedded intermediate")
    signature = test_pki.sign(document, test_pki.enterprise_a, embed_ca=True).read_bytes()
    crls = [load_crl(p.read_bytes()) for p in test_pki.crls]
    roots = load_certificates(test_pki.anchors.read_bytes())
    # The licensed CA's CRL needs a configured CA to be accepted; revocation is not the point.
    no_revocation = Policy(revocation=RevocationMode.OFF)
    without_cas = Verifier(TrustMaterial.build(roots, (), crls), no_revocation)
    report = await without_cas.verify_signature(signature, document=document.read_bytes())
    assert report.indication is Indication.TOTAL_PASSED

    ca_only = TrustMaterial.build(load_certificates(test_pki.intermediates.read_bytes()))
    report = await Verifier(ca_only).verify_signature(signature, document=document.read_bytes())
    assert report.indication is Indication.INDETERMINATE  # the carried root is not an anchor


async def test_the_validation_time_decides_validity(test_pki: Pki) -> None:
    cert = load_certificate(test_pki.enterprise_a.cert.read_bytes())
    verifier = Verifier(trust_of(test_pki), Policy(revocation=RevocationMode.OFF))
    now = await verifier.verify_certificate(cert)
    later = await verifier.verify_certificate(cert, at=datetime.now(UTC) + timedelta(days=900))
    assert now.indication is Indication.TOTAL_PASSED
    assert later.sub_indication == "EXPIRED"


async def test_a_new_crl_changes_the_trust_version_and_the_verdict(test_pki: Pki) -> None:
    document, signature = SCENARIOS[0].files(test_pki)
    verifier = Verifier(trust_of(test_pki, without_ca_crl=True))
    before = await verifier.verify_signature(signature, document=document)
    verifier.trust = verifier.trust.with_crl(load_crl(test_pki.ca_crl.read_bytes()))
    after = await verifier.verify_signature(signature, document=document)
    assert (before.sub_indication, after.indication) == ("TRY_LATER", Indication.TOTAL_PASSED)


def test_a_crl_not_signed_by_a_known_ca_is_refused(test_pki: Pki) -> None:
    only_root = TrustMaterial.build(load_certificates(test_pki.anchors.read_bytes()))
    with pytest.raises(TrustMaterialError):
        only_root.with_crl(load_crl(test_pki.ca_crl.read_bytes()))
    assert only_root.crls == ()


def test_tax_codes_come_from_every_uid_of_the_subject(test_pki: Pki, tmp_path: Path) -> None:
    from signature_svc.verification.subject import tax_codes

    key = tmp_path / "k.pem"
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key)
    subject = "/C=VN/UID=CMND:012345678/UID=MST:0100686209-199/UID=MST:0101234565/CN=Branch"
    pem_cert = openssl("req", "-x509", "-new", "-key", key, "-subj", subject, "-days", "1")
    assert tax_codes(load_certificate(pem_cert)) == ["0100686209-199", "0101234565"]
    assert tax_codes(load_certificate(test_pki.enterprise_b.cert.read_bytes())) == ["0312345673"]
    assert tax_codes(load_certificate(test_pki.root.read_bytes())) == []


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
async def test_hostile_cms_bytes_give_a_report_never_an_exception(
    test_pki: Pki, data: st.DataObject
) -> None:
    document, signature = SCENARIOS[0].files(test_pki)
    mutated = data.draw(
        st.one_of(
            st.binary(max_size=600),
            st.builds(
                lambda i, b: signature[:i] + b + signature[i + len(b) :],
                st.integers(0, len(signature) - 1),
                st.binary(min_size=1, max_size=8),
            ),
            st.builds(lambda n: signature[:n], st.integers(0, len(signature))),
        )
    )
    report = await Verifier(trust_of(test_pki)).verify_signature(mutated, document=document)
    assert report.indication in set(Indication)
    assert report.checks[0].name is CheckName.FORMAT


async def test_a_pem_armoured_signature_verifies_as_der_does(test_pki: Pki) -> None:
    from asn1crypto import pem

    document, signature = SCENARIOS[0].files(test_pki)
    armoured = pem.armor("PKCS7", signature)
    report = await Verifier(trust_of(test_pki)).verify_signature(armoured, document=document)
    assert report.indication is Indication.TOTAL_PASSED


async def test_a_path_pyhanko_accepts_is_also_held_to_strict_rfc_5280(
    test_pki: Pki, tmp_path: Path
) -> None:
    """A licensed CA without a keyUsage extension: pyhanko-certvalidator lets it pass,
    cryptography's strict verifier does not."""
    ext = tmp_path / "ext.cnf"
    ext.write_text(
        "[loose_ca]\nbasicConstraints = critical, CA:true\nsubjectKeyIdentifier = hash\n"
        "authorityKeyIdentifier = keyid\n"
        "[signer]\nbasicConstraints = critical, CA:false\n"
        "keyUsage = critical, digitalSignature\nauthorityKeyIdentifier = keyid\n"
    )
    root_key = test_pki.root.parent / "ca.key"
    for name, subject in (("loose", "/CN=Loose CA"), ("ee", f"/CN=ee/UID=MST:{TAX_CODE_A}")):
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-out", tmp_path / f"{name}.key")  # fmt: skip
        openssl("req", "-new", "-key", tmp_path / f"{name}.key", "-subj", subject,
                "-out", tmp_path / f"{name}.csr")  # fmt: skip
    openssl("x509", "-req", "-in", tmp_path / "loose.csr", "-CA", test_pki.root,
            "-CAkey", root_key, "-set_serial", "77", "-days", "30", "-extfile", ext,
            "-extensions", "loose_ca", "-out", tmp_path / "loose.pem")  # fmt: skip
    openssl("x509", "-req", "-in", tmp_path / "ee.csr", "-CA", tmp_path / "loose.pem",
            "-CAkey", tmp_path / "loose.key", "-set_serial", "78", "-days", "30",
            "-extfile", ext, "-extensions", "signer", "-out", tmp_path / "ee.pem")  # fmt: skip
    trust = TrustMaterial.build(
        load_certificates(test_pki.anchors.read_bytes()),
        load_certificates((tmp_path / "loose.pem").read_bytes()),
    )
    ee = load_certificate((tmp_path / "ee.pem").read_bytes())
    off = Policy(revocation=RevocationMode.OFF)
    lenient_policy = Policy(revocation=RevocationMode.OFF, strict_path=False)
    lenient = await Verifier(trust, lenient_policy).verify_certificate(ee)
    strict = await Verifier(trust, off).verify_certificate(ee)
    assert lenient.indication is Indication.TOTAL_PASSED
    assert strict.sub_indication == "CHAIN_CONSTRAINTS_FAILURE"
    assert "RFC 5280" in next(c.message for c in strict.checks if c.name is CheckName.CHAIN)
