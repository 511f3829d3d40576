from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from customs_shared.services import SIGNATURE
from customs_shared.settings import ServiceSettings
from signature_svc.verification.verifier import RevocationMode

MB = 1_000_000


class SignatureSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix=SIGNATURE.prefix, extra="ignore")

    spec = SIGNATURE

    trust_anchors: Path | None = Field(
        default=None,
        description="PEM bundle of trusted root CAs. Unset: nothing is trusted, and every "
        "signature is INDETERMINATE.",
    )
    intermediates: Path | None = Field(
        default=None, description="PEM bundle of licensed CA certificates, for path building."
    )
    crl_dir: Path | None = Field(
        default=None,
        description="Folder of CRLs (DER or PEM), loaded at start and re-read when it changes.",
    )
    crl_dir_poll_seconds: float = Field(
        default=5.0, gt=0, description="How often the CRL folder and uploaded CRLs are re-read."
    )
    revocation: RevocationMode = Field(
        default=RevocationMode.REQUIRE,
        description="require: every certificate below the anchor needs a current CRL; "
        "soft-fail: the CRLs at hand are checked; off: no revocation check.",
    )
    weak_digests: frozenset[str] = Field(
        default=frozenset({"md5", "md2", "sha1"}), description="Digest algorithms refused."
    )
    strict_path: bool = Field(
        default=True,
        description="Also hold every path to cryptography's strict RFC 5280 verifier "
        "(Web PKI CA profile); a failure is CHAIN_CONSTRAINTS_FAILURE.",
    )
    rsa_min_bits: int = Field(default=2048, ge=1024, description="Smallest RSA key accepted.")
    max_part_bytes: int = Field(
        default=3 * MB, gt=0, description="Largest file part of a verification request (413)."
    )
