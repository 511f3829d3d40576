"""The command-line verifier: the scenarios' indications as JSON reports and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from signature_svc.verify import main
from tests.support.pki import SCENARIOS, TAX_CODE_A, Pki, Scenario

EXIT = {"TOTAL_PASSED": 0, "TOTAL_FAILED": 1, "INDETERMINATE": 2}


def trust_args(pki: Pki, *, without_ca_crl: bool = False) -> list[str]:
    crls = [pki.root_crl] if without_ca_crl else list(pki.crls)
    return [
        "--trust-anchors", str(pki.anchors),
        "--intermediates", str(pki.intermediates),
        *(arg for crl in crls for arg in ("--crl", str(crl))),
    ]  # fmt: skip


def write_files(pki: Pki, scenario: Scenario, folder: Path) -> tuple[Path, Path]:
    document, signature = scenario.files(pki)
    (folder / "document").write_bytes(document)
    (folder / "signature.p7s").write_bytes(signature)
    return folder / "document", folder / "signature.p7s"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_each_scenario_exits_with_its_indication(
    test_pki: Pki, scenario: Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document, signature = write_files(test_pki, scenario, tmp_path)
    code = main(
        [
            "signature",
            *trust_args(test_pki, without_ca_crl=scenario.without_ca_crl),
            "--tax-code", TAX_CODE_A,
            "--registered-cert", str(test_pki.enterprise_a.cert),
            "--registered-cert", str(test_pki.enterprise_a_ec.cert),
            str(document),
            str(signature),
        ]
    )  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert (report["indication"], report["sub_indication"]) == (
        scenario.indication,
        scenario.sub_indication,
    )
    assert code == EXIT[scenario.indication]


def test_certificate_command(test_pki: Pki, capsys: pytest.CaptureFixture[str]) -> None:
    valid = main(["certificate", *trust_args(test_pki), str(test_pki.enterprise_a.cert)])
    assert json.loads(capsys.readouterr().out)["signer"]["tax_codes"] == [TAX_CODE_A]
    revoked = main(["certificate", *trust_args(test_pki), str(test_pki.revoked.cert)])
    assert json.loads(capsys.readouterr().out)["sub_indication"] == "REVOKED"
    unknown = main(
        ["certificate", "--trust-anchors", str(test_pki.anchors), str(test_pki.enterprise_a.cert)]
    )
    assert (valid, revoked, unknown) == (0, 1, 2)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["signature"],
        ["signature", "--trust-anchors", "/nonexistent.pem", "doc", "sig"],
        ["signature", "--trust-anchors", "ROOTS", "--revocation", "maybe", "doc", "sig"],
        ["signature", "--trust-anchors", "ROOTS", "--at", "yesterday", "doc", "sig"],
        ["signature", "--trust-anchors", "ROOTS", "--tax-code", "0101234565", "doc", "sig"],
    ],
)
def test_usage_errors_exit_64(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        sys.exit(main(args))
    assert exited.value.code == 64
    assert capsys.readouterr().out == ""


def test_a_crl_of_an_unknown_ca_is_a_usage_error(
    test_pki: Pki, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["certificate", "--trust-anchors", str(test_pki.anchors), "--crl", str(test_pki.ca_crl),
         str(test_pki.enterprise_a.cert)]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert (code, captured.out) == (64, "")
    assert "not signed by any of the CAs given" in captured.err


def test_runs_as_a_module(test_pki: Pki, tmp_path: Path) -> None:
    document, signature = write_files(test_pki, SCENARIOS[0], tmp_path)
    at = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    done = subprocess.run(
        [sys.executable, "-m", "signature_svc.verify", "signature", *trust_args(test_pki),
         "--at", at.isoformat(), str(document), str(signature)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["validation_time"] == at.isoformat()
