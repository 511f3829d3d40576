"""The test PKI (deploy/local/pki.py, built with the OpenSSL command line) and the
signature scenarios every layer of the tests judges: core, CLI, event flow, HTTP API."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from deploy.local.pki import TAX_CODE_A, TAX_CODE_B, Pki, Signer, build_pki

__all__ = ["SCENARIOS", "TAX_CODE_A", "TAX_CODE_B", "Pki", "Scenario", "Signer", "build_pki"]


@dataclass(frozen=True)
class Scenario:
    """One signature the verifier must judge, and the verdict it must reach
    (signed for enterprise A, whose registered certificates are ``a`` and ``a-ec``)."""

    name: str
    signer: str  # a Pki field
    indication: str
    sub_indication: str | None
    md: str = "sha256"
    size: int = 2048
    tampered: bool = False
    garbage: bool = False
    without_ca_crl: bool = False

    def files(self, pki: Pki) -> tuple[bytes, bytes]:
        """The document and the signature over it (made once, then read back)."""
        folder = pki.folder / "scenarios" / self.name
        document, signature = folder / "document.bin", folder / "signature.p7s"
        if not signature.exists():
            folder.mkdir(parents=True, exist_ok=True)
            # Deterministic bytes: a repeated pattern is enough for a digest.
            pattern = self.name.encode() * (self.size // len(self.name) + 1)
            document.write_bytes(pattern[: self.size])
            if self.garbage:
                signature.write_bytes(b"\x30\x82\x01\x00 not a CMS signature at all")
            else:
                pki.sign(document, getattr(pki, self.signer), md=self.md, out=signature)
        data = document.read_bytes()
        return (data + b"!" if self.tampered else data), signature.read_bytes()


PASSED, FAILED, INDETERMINATE = "TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE"

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("valid-rsa2048-sha256", "enterprise_a", PASSED, None),
    Scenario("valid-ecdsa-p256", "enterprise_a_ec", PASSED, None),
    Scenario("valid-2.5mb-document", "enterprise_a", PASSED, None, size=2_500_000),
    Scenario("tampered-document", "enterprise_a", FAILED, "HASH_FAILURE", tampered=True),
    Scenario("another-enterprise", "enterprise_b", FAILED, "NOT_REGISTERED"),
    Scenario("revoked", "revoked", FAILED, "REVOKED"),
    Scenario("expired", "expired", FAILED, "EXPIRED"),
    Scenario("sha1", "enterprise_a", INDETERMINATE, "CRYPTO_CONSTRAINTS_FAILURE", md="sha1"),
    Scenario("rsa1024", "weak_rsa", INDETERMINATE, "CRYPTO_CONSTRAINTS_FAILURE"),
    Scenario(
        "no-digital-signature-usage", "no_signing_usage", INDETERMINATE, "CHAIN_CONSTRAINTS_FAILURE"
    ),
    Scenario("self-signed-look-alike", "look_alike", INDETERMINATE, "NO_CERTIFICATE_CHAIN_FOUND"),
    Scenario("garbage", "enterprise_a", FAILED, "FORMAT_FAILURE", garbage=True),
    Scenario("missing-crl", "enterprise_a", INDETERMINATE, "TRY_LATER", without_ca_crl=True),
)


def register_signers(client: httpx.Client, pki: Pki) -> None:
    """Registers enterprise A's two certificates (RSA and ECDSA) through the API, once;
    ``client`` acts for an officer or an admin."""
    for signer in (pki.enterprise_a, pki.enterprise_a_ec):
        response = client.post(
            "/api/v1/signatures/certificates",
            json={"tax_code": TAX_CODE_A, "certificate_pem": signer.cert.read_text()},
        )
        if response.status_code not in (201, 409):
            raise RuntimeError(f"registering {signer.cert.name}: {response.text}")
