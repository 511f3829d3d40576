"""A throwaway PKI built with the OpenSSL command line, as a licensed CA's would be:
root → licensed CA → enterprise certificates whose subject carries ``UID=MST:<tax code>``,
with CRLs for both CAs (the licensed CA's revokes one certificate).

Nothing here is for production: keys are unprotected and live in a temporary folder."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

import httpx

TAX_CODE_A = "0314409058"  # the sample enterprise declarant (samples/, factories)
TAX_CODE_B = "0312345673"

_CA_CONFIG = """\
[ ca ]
default_ca = ca_default

[ ca_default ]
dir = {dir}
database = $dir/index.txt
new_certs_dir = $dir/issued
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_days = 825
default_crl_days = 30
policy = policy_any
unique_subject = no
copy_extensions = none
preserve = yes

[ policy_any ]
countryName = optional
organizationName = optional
commonName = supplied
userId = optional

[ req ]
distinguished_name = req_dn
[ req_dn ]

[ v3_root ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ v3_ca ]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[ v3_signer ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[ v3_no_signing ]
basicConstraints = critical, CA:false
keyUsage = critical, keyEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[ v3_self ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier = hash
"""


def openssl(*args: str | Path, stdin: bytes | None = None) -> bytes:
    done = subprocess.run(
        ["openssl", *map(str, args)], input=stdin, capture_output=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout


def enterprise_subject(tax_code: str, name: str) -> str:
    return f"/C=VN/O={name}/CN={name}/UID=MST:{tax_code}"


@dataclass(frozen=True)
class Signer:
    cert: Path
    key: Path


@dataclass(frozen=True)
class Pki:
    folder: Path
    root: Path
    licensed_ca: Path
    root_crl: Path
    ca_crl: Path
    enterprise_a: Signer
    enterprise_a_ec: Signer
    enterprise_b: Signer
    revoked: Signer
    expired: Signer
    no_signing_usage: Signer
    weak_rsa: Signer
    look_alike: Signer

    @property
    def anchors(self) -> Path:
        return self.root

    @property
    def intermediates(self) -> Path:
        return self.licensed_ca

    @property
    def crls(self) -> tuple[Path, Path]:
        return (self.root_crl, self.ca_crl)

    def signature_env(self, *, without_ca_crl: bool = False) -> dict[str, str]:
        """signature-svc's trust settings for this PKI."""
        return {
            "SIGNATURE_TRUST_ANCHORS": str(self.anchors),
            "SIGNATURE_INTERMEDIATES": str(self.intermediates),
            "SIGNATURE_CRL_DIR": str(self.crl_dir(without_ca_crl=without_ca_crl)),
        }

    def crl_dir(self, *, without_ca_crl: bool = False) -> Path:
        """A folder holding the CAs' CRLs, as ``SIGNATURE_CRL_DIR`` expects."""
        folder = self.folder / ("crls-root-only" if without_ca_crl else "crls")
        if not folder.exists():
            folder.mkdir()
            for crl in [self.root_crl] if without_ca_crl else self.crls:
                (folder / crl.name).write_bytes(crl.read_bytes())
        return folder

    def sign_bytes(self, data: bytes, signer: Signer) -> bytes:
        """A detached CMS signature (DER) over ``data``."""
        digest = hashlib.sha256(data).hexdigest()
        document = self.folder / "signed-bytes" / f"{digest}.bin"
        document.parent.mkdir(exist_ok=True)
        document.write_bytes(data)
        out = document.with_suffix(f".{signer.cert.stem}.p7s")
        return self.sign(document, signer, out=out).read_bytes()

    def sign(
        self,
        document: Path,
        signer: Signer,
        *,
        md: str = "sha256",
        out: Path | None = None,
        embed_ca: bool = False,
    ) -> Path:
        """A detached CMS signature (DER) over the document, made by ``openssl cms -sign``."""
        out = out or document.with_suffix(f".{signer.cert.stem}.{md}.p7s")
        extra: list[str | Path] = ["-certfile", self.licensed_ca] if embed_ca else []
        openssl(
            "cms",
            "-sign",
            "-binary",
            "-in",
            document,
            "-signer",
            signer.cert,
            "-inkey",
            signer.key,
            "-md",
            md,
            "-outform",
            "DER",
            "-out",
            out,
            *extra,
        )
        return out


class _Ca:
    def __init__(self, folder: Path, name: str) -> None:
        self.dir = folder / name
        (self.dir / "issued").mkdir(parents=True)
        (self.dir / "index.txt").write_text("")
        (self.dir / "serial").write_text("1000\n")
        (self.dir / "crlnumber").write_text("01\n")
        self.config = self.dir / "ca.cnf"
        self.config.write_text(_CA_CONFIG.format(dir=self.dir))
        self.key = self.dir / "ca.key"
        self.cert = self.dir / "ca.pem"

    def issue(
        self, csr: Path, out: Path, extensions: str, *, start: str = "", end: str = ""
    ) -> None:
        dates: list[str] = ["-days", "825"]
        if start:
            dates = ["-startdate", start, "-enddate", end]
        openssl(
            "ca",
            "-batch",
            "-notext",
            "-config",
            self.config,
            "-cert",
            self.cert,
            "-keyfile",
            self.key,
            "-in",
            csr,
            "-out",
            out,
            "-extensions",
            extensions,
            "-md",
            "sha256",
            *dates,
        )

    def revoke(self, cert: Path) -> None:
        openssl(
            "ca",
            "-config",
            self.config,
            "-cert",
            self.cert,
            "-keyfile",
            self.key,
            "-revoke",
            cert,
            "-crl_reason",
            "keyCompromise",
        )

    def crl(self, out: Path) -> Path:
        openssl(
            "ca",
            "-gencrl",
            "-config",
            self.config,
            "-cert",
            self.cert,
            "-keyfile",
            self.key,
            "-out",
            out,
        )
        return out


def _key(path: Path, kind: str) -> Path:
    if kind == "ec":
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path)
    else:
        bits = kind.removeprefix("rsa")
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{bits}", "-out", path)
    return path


def _csr(folder: Path, name: str, subject: str, kind: str) -> tuple[Path, Path]:
    key = _key(folder / f"{name}.key", kind)
    csr = folder / f"{name}.csr"
    openssl("req", "-new", "-key", key, "-subj", subject, "-out", csr)
    return key, csr


def build_pki(folder: Path) -> Pki:
    folder.mkdir(parents=True, exist_ok=True)
    root = _Ca(folder, "root")
    _key(root.key, "rsa2048")
    openssl(
        "req",
        "-x509",
        "-new",
        "-key",
        root.key,
        "-subj",
        "/C=VN/O=Test Root/CN=Test Root CA",
        "-days",
        "3650",
        "-sha256",
        "-config",
        root.config,
        "-extensions",
        "v3_root",
        "-out",
        root.cert,
    )
    ca = _Ca(folder, "licensed-ca")
    _, ca_csr = _csr(
        ca.dir,
        "ca",  # writes ca.key, the CA's key
        "/C=VN/O=Test Licensed CA/CN=Test Licensed CA",
        "rsa2048",
    )
    root.issue(ca_csr, ca.cert, "v3_ca")

    def enterprise(
        name: str, tax_code: str, kind: str = "rsa2048", ext: str = "v3_signer", **dates: str
    ) -> Signer:
        key, csr = _csr(folder, name, enterprise_subject(tax_code, f"Company {name}"), kind)
        cert = folder / f"{name}.pem"
        ca.issue(csr, cert, ext, **dates)
        return Signer(cert, key)

    a = enterprise("a", TAX_CODE_A)
    a_ec = enterprise("a-ec", TAX_CODE_A, "ec")
    b = enterprise("b", TAX_CODE_B)
    revoked = enterprise("revoked", TAX_CODE_A)
    expired = enterprise("expired", TAX_CODE_A, start="20200101000000Z", end="20210101000000Z")
    no_signing = enterprise("no-signing", TAX_CODE_A, ext="v3_no_signing")
    weak = enterprise("weak", TAX_CODE_A, "rsa1024")
    ca.revoke(revoked.cert)

    look_key = _key(folder / "look-alike.key", "rsa2048")
    look_cert = folder / "look-alike.pem"
    look_subject = enterprise_subject(TAX_CODE_A, "Company a")
    openssl(
        "req",
        "-x509",
        "-new",
        "-key",
        look_key,
        "-subj",
        look_subject,
        "-days",
        "365",
        "-sha256",
        "-config",
        root.config,
        "-extensions",
        "v3_self",
        "-out",
        look_cert,
    )
    return Pki(
        folder=folder,
        root=root.cert,
        licensed_ca=ca.cert,
        root_crl=root.crl(folder / "root.crl.pem"),
        ca_crl=ca.crl(folder / "licensed-ca.crl.pem"),
        enterprise_a=a,
        enterprise_a_ec=a_ec,
        enterprise_b=b,
        revoked=revoked,
        expired=expired,
        no_signing_usage=no_signing,
        weak_rsa=weak,
        look_alike=Signer(look_cert, look_key),
    )


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
