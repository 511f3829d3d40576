"""The service's trust material follows the CRL folder: a CRL dropped in is used at the
next refresh, and the verifier's cached outcomes go with the old trust version."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from signature_svc.settings import SignatureSettings
from signature_svc.trust_runtime import TrustRuntime
from signature_svc.verification.report import Indication
from tests.support.pki import SCENARIOS, Pki


async def test_a_crl_dropped_into_the_folder_is_used_after_refresh(
    test_pki: Pki, tmp_path: Path
) -> None:
    folder = tmp_path / "crls"
    folder.mkdir()
    shutil.copy(test_pki.root_crl, folder / "root.crl")
    trust = TrustRuntime(
        SignatureSettings(
            trust_anchors=test_pki.anchors, intermediates=test_pki.intermediates, crl_dir=folder
        )
    )
    document, signature = SCENARIOS[0].files(test_pki)
    before = await trust.verifier.verify_signature(signature, document=document)
    unchanged = trust.refresh_dir()
    (folder / "licensed-ca.crl").write_bytes(test_pki.ca_crl.read_bytes())  # DER or PEM alike
    (folder / "notes.txt").write_text("not a CRL; logged and skipped")
    changed = trust.refresh_dir()
    after = await trust.verifier.verify_signature(signature, document=document)
    assert (before.sub_indication, unchanged, changed) == ("TRY_LATER", False, True)
    assert after.indication is Indication.TOTAL_PASSED
    assert len(trust.trust.crls) == 2


def test_nothing_is_trusted_without_configured_anchors() -> None:
    trust = TrustRuntime(SignatureSettings())
    assert trust.trust.anchors == ()
    assert trust.trust.crls == ()


def test_expiry_gauges_follow_the_trust_material_in_use(test_pki: Pki, tmp_path: Path) -> None:
    folder = tmp_path / "crls"
    folder.mkdir()
    shutil.copy(test_pki.ca_crl, folder / "licensed-ca.crl")
    trust = TrustRuntime(
        SignatureSettings(
            trust_anchors=test_pki.anchors, intermediates=test_pki.intermediates, crl_dir=folder
        )
    )
    [crl] = trust.trust.crls
    next_update = crl["tbs_cert_list"]["next_update"].native.timestamp()
    issuer = crl.issuer.human_friendly
    assert REGISTRY.get_sample_value(
        "signature_crl_next_update_timestamp_seconds", {"issuer": issuer}
    ) == pytest.approx(next_update)
    [anchor] = trust.trust.anchors
    assert REGISTRY.get_sample_value(
        "signature_trust_certificate_not_after_timestamp_seconds",
        {"role": "anchor", "subject": anchor.subject.human_friendly},
    ) == pytest.approx(anchor.not_valid_after.timestamp())

    (folder / "licensed-ca.crl").unlink()
    trust.refresh_dir()
    # A CRL no longer in use is no longer reported.
    assert (
        REGISTRY.get_sample_value("signature_crl_next_update_timestamp_seconds", {"issuer": issuer})
        is None
    )
