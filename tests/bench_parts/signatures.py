"""``make bench BENCH=signatures``: detached-signature verifications per second on one core,
from the digest (as the event flow does) with a warm cache, against OpenSSL's own RSA-2048
verifications per second measured in the same run (``openssl speed -seconds 3 rsa2048``),
both per second of CPU time.

Figures: ``signatures.verified_per_s`` and ``signatures.ratio_to_openssl_verify``."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from signature_svc.verification.report import Indication
from signature_svc.verification.trust import (
    TrustMaterial,
    fingerprint,
    load_certificate,
    load_certificates,
    load_crl,
)
from signature_svc.verification.verifier import Verifier
from tests.bench_parts import results
from tests.support.pki import TAX_CODE_A, build_pki

SECONDS = 10.0


def openssl_rsa2048_verify_per_s() -> float:
    binary = shutil.which("openssl")
    assert binary is not None
    out = subprocess.run(
        [binary, "speed", "-seconds", "3", "rsa2048"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    # "rsa 2048 bits 0.000613s 0.000018s   1631.3  55555.6": sign/s, then verify/s
    match = re.search(r"^rsa\s+2048 bits\s+\S+\s+\S+\s+(\S+)\s+(\S+)", out, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"unexpected openssl speed output:\n{out}")
    return float(match.group(2))


async def verifications_per_s(folder: Path) -> tuple[float, int]:
    pki = build_pki(folder)
    document = folder / "small.bin"
    document.write_bytes(b'{"declaration": "a small document"}' * 30)  # about 1 KB
    cms = pki.sign(document, pki.enterprise_a).read_bytes()
    digest = hashlib.sha256(document.read_bytes()).digest()
    trust = TrustMaterial.build(
        load_certificates(pki.anchors.read_bytes()),
        load_certificates(pki.intermediates.read_bytes()),
        [load_crl(p.read_bytes()) for p in pki.crls],
    )
    registered = {fingerprint(load_certificate(pki.enterprise_a.cert.read_bytes()))}
    verifier = Verifier(trust)

    async def once() -> None:
        report = await verifier.verify_signature(
            cms, sha256=digest, tax_code=TAX_CODE_A, registered=registered
        )
        assert report.indication is Indication.TOTAL_PASSED, report.checks

    for _ in range(50):  # warm: the path is validated once, then cached
        await once()
    # CPU time, as openssl speed counts by default: the machine is shared, and wall time
    # would measure the neighbours as well.
    done, started, cpu_started = 0, time.perf_counter(), time.thread_time()
    while time.perf_counter() - started < SECONDS:
        for _ in range(100):
            await once()
        done += 100
    return done / (time.thread_time() - cpu_started), done


def main() -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the figure says
    cpu_started = time.process_time()
    with tempfile.TemporaryDirectory(prefix="customs-bench-sig-") as tmp:
        rate, n = asyncio.run(verifications_per_s(Path(tmp) / "pki"))
    cpu = time.process_time() - cpu_started
    openssl_rate = openssl_rsa2048_verify_per_s()
    now = datetime.now(UTC).isoformat()
    results.merge(
        {
            "signatures.verified_per_s": {
                "value": round(rate, 1), "unit": "per_s", "baseline": round(openssl_rate, 1),
                "ratio": round(rate / openssl_rate, 4), "measured_at": now,
            },
            "signatures.ratio_to_openssl_verify": {
                "value": round(rate / openssl_rate, 4), "unit": "ratio", "baseline": None,
                "ratio": None, "measured_at": now,
            },
        }
    )  # fmt: skip
    for text in (
        f"{'verifications from the digest, warm cache, 1 core CPU':<52} {rate:9.1f} /s (n={n})",
        f"{'baseline: openssl speed rsa2048 verify':<52} {openssl_rate:9.1f} /s",
        f"{'ratio':<52} {rate / openssl_rate:9.4f}",
        f"{'CPU of this process (PKI, warm-up, loop)':<52} {cpu:9.1f} s",
    ):
        print(text)  # noqa: T201
    sys.stdout.flush()


if __name__ == "__main__":
    main()
