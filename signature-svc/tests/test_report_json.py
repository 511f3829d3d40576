"""A report's JSON form: what its column stores and the API serves."""

from __future__ import annotations

from datetime import UTC, datetime

from signature_svc.verification import report as r


def test_a_report_is_json_values_with_times_in_iso_8601_and_names_as_their_values() -> None:
    checked = datetime(2026, 11, 28, 6, 30, 1, 250_000, tzinfo=UTC)
    issued = datetime(2026, 1, 1, tzinfo=UTC)
    value = r.Report(
        indication=r.Indication.TOTAL_FAILED,
        sub_indication=r.SubIndication.REVOKED,
        validation_time=checked,
        checks=[r.Check(r.CheckName.REVOCATION, r.CheckStatus.FAILED, "Revoked on 2 Nov.")],
        signer=r.Signer(
            subject="CN=Công ty A",
            tax_codes=["0101234567"],
            serial="1f",
            sha256_fingerprint="ab" * 32,
            issuer="CN=CA",
            not_before=issued,
            not_after=issued.replace(year=2028),
        ),
        enterprise_binding=r.EnterpriseBinding(
            "0101234567", subject_matches=True, registered=False
        ),
        revocation_evidence=[
            r.RevocationEvidence("CN=Công ty A", "CN=CA", checked, None, "cd" * 32)
        ],
        chain=["CN=Công ty A", "CN=CA"],
    )
    assert value.to_json() == {
        "indication": "TOTAL_FAILED",
        "sub_indication": "REVOKED",
        "validation_time": "2026-11-28T06:30:01.250000+00:00",
        "checks": [{"name": "revocation", "status": "failed", "message": "Revoked on 2 Nov."}],
        "signer": {
            "subject": "CN=Công ty A",
            "tax_codes": ["0101234567"],
            "serial": "1f",
            "sha256_fingerprint": "ab" * 32,
            "issuer": "CN=CA",
            "not_before": "2026-01-01T00:00:00+00:00",
            "not_after": "2028-01-01T00:00:00+00:00",
        },
        "enterprise_binding": {
            "tax_code": "0101234567",
            "subject_matches": True,
            "registered": False,
        },
        "revocation_evidence": [
            {
                "certificate_subject": "CN=Công ty A",
                "crl_issuer": "CN=CA",
                "this_update": "2026-11-28T06:30:01.250000+00:00",
                "next_update": None,
                "crl_sha256": "cd" * 32,
            }
        ],
        "chain": ["CN=Công ty A", "CN=CA"],
    }
