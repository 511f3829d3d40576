"""Command-line verifier for operators and auditors: the same code path as the API.

    python -m signature_svc.verify signature --trust-anchors ROOTS.pem [--intermediates CAS.pem]
        [--crl FILE]... [--revocation require|soft-fail|off] [--at ISO8601]
        [--tax-code MST --registered-cert CERT.pem] DOCUMENT SIGNATURE.p7s
    python -m signature_svc.verify certificate --trust-anchors ROOTS.pem [--intermediates CAS.pem]
        [--crl FILE]... [--revocation …] [--at ISO8601] CERT.pem

Prints the JSON report. Exit status: 0 TOTAL_PASSED, 1 TOTAL_FAILED, 2 INDETERMINATE,
64 usage error (EX_USAGE)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from signature_svc.verification.report import Indication, Report
from signature_svc.verification.trust import (
    TrustMaterial,
    TrustMaterialError,
    fingerprint,
    load_certificate,
    load_certificates,
    load_crl,
)
from signature_svc.verification.verifier import Policy, RevocationMode, Verifier

EX_USAGE = 64
EXIT_CODES = {Indication.TOTAL_PASSED: 0, Indication.TOTAL_FAILED: 1, Indication.INDETERMINATE: 2}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EX_USAGE, f"{self.prog}: error: {message}\n")


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date-time: {value}") from e
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m signature_svc.verify", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    common = _Parser(add_help=False)
    common.add_argument("--trust-anchors", type=Path, required=True, metavar="ROOTS.pem")
    common.add_argument("--intermediates", type=Path, metavar="CAS.pem")
    common.add_argument("--crl", type=Path, action="append", default=[], metavar="FILE")
    common.add_argument(
        "--revocation",
        choices=[m.value for m in RevocationMode],
        default=RevocationMode.REQUIRE.value,
    )
    common.add_argument("--at", type=_moment, metavar="ISO8601")
    signature = commands.add_parser("signature", parents=[common], help="verify a signature")
    signature.add_argument("--tax-code", metavar="MST")
    signature.add_argument(
        "--registered-cert", type=Path, action="append", default=[], metavar="CERT.pem"
    )
    signature.add_argument("document", type=Path, metavar="DOCUMENT")
    signature.add_argument("signature", type=Path, metavar="SIGNATURE.p7s")
    certificate = commands.add_parser("certificate", parents=[common], help="check a certificate")
    certificate.add_argument("certificate", type=Path, metavar="CERT.pem")
    return parser


async def run(args: argparse.Namespace) -> Report:
    trust = TrustMaterial.build(
        load_certificates(args.trust_anchors.read_bytes()),
        load_certificates(args.intermediates.read_bytes()) if args.intermediates else [],
        [load_crl(path.read_bytes()) for path in args.crl],
    )
    if len(trust.crls) != len(args.crl):
        raise TrustMaterialError("a --crl file is not signed by any of the CAs given")
    verifier = Verifier(trust, Policy(revocation=RevocationMode(args.revocation)))
    if args.command == "certificate":
        cert = load_certificate(args.certificate.read_bytes())
        return await verifier.verify_certificate(cert, at=args.at)
    registered = {
        fingerprint(cert)
        for path in args.registered_cert
        for cert in load_certificates(path.read_bytes())
    }
    return await verifier.verify_signature(
        args.signature.read_bytes(),
        document=args.document.read_bytes(),
        at=args.at,
        tax_code=args.tax_code,
        registered=registered,
    )


def main(argv: Sequence[str] | None = None) -> int:
    # The report says what failed; the libraries' warnings would repeat it on stderr.
    logging.basicConfig(level=logging.ERROR)
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "signature" and bool(args.tax_code) != bool(args.registered_cert):
        parser.error("--tax-code and --registered-cert go together")
    try:
        report = asyncio.run(run(args))
    except (OSError, TrustMaterialError) as e:
        sys.stderr.write(f"{parser.prog}: error: {e}\n")
        return EX_USAGE
    sys.stdout.write(json.dumps(report.to_json(), indent=2) + "\n")
    return EXIT_CODES[report.indication]


if __name__ == "__main__":
    sys.exit(main())
