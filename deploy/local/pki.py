"""A throwaway PKI built with the OpenSSL command line, as a licensed CA's would be:
root → licensed CA → enterprise certificates whose subject carries ``UID=MST:<tax code>``,
with CRLs for both CAs (the licensed CA's revokes one certificate).

NOT FOR PRODUCTION: keys are unprotected files. The tests build one in a temporary folder;
``make run`` builds one in .run/pki on its first start and renews its CRLs on every start
(``python -m deploy.local.pki FOLDER`` does the same by hand)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

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
    binary = shutil.which("openssl")
    if binary is None:
        raise RuntimeError("the openssl command is needed to build the test PKI")
    done = subprocess.run(  # noqa: S603  (our own arguments)
        [binary, *map(str, args)], input=stdin, capture_output=True, check=False
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

    @classmethod
    def at(cls, folder: Path) -> Pki:
        """The PKI that :func:`build_pki` made in ``folder``."""

        def signer(name: str) -> Signer:
            return Signer(folder / f"{name}.pem", folder / f"{name}.key")

        return cls(
            folder=folder,
            root=folder / "root" / "ca.pem",
            licensed_ca=folder / "licensed-ca" / "ca.pem",
            root_crl=folder / "root.crl.pem",
            ca_crl=folder / "licensed-ca.crl.pem",
            enterprise_a=signer("a"),
            enterprise_a_ec=signer("a-ec"),
            enterprise_b=signer("b"),
            revoked=signer("revoked"),
            expired=signer("expired"),
            no_signing_usage=signer("no-signing"),
            weak_rsa=signer("weak"),
            look_alike=signer("look-alike"),
        )

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
        """A folder holding the CAs' current CRLs, as ``SIGNATURE_CRL_DIR`` expects."""
        folder = self.folder / ("crls-root-only" if without_ca_crl else "crls")
        folder.mkdir(exist_ok=True)
        for crl in [self.root_crl] if without_ca_crl else self.crls:
            copy, data = folder / crl.name, crl.read_bytes()
            if not copy.exists() or copy.read_bytes() != data:  # unchanged: no reload
                copy.write_bytes(data)
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
    def __init__(self, folder: Path, name: str, *, create: bool = True) -> None:
        self.dir = folder / name
        self.config = self.dir / "ca.cnf"
        self.key = self.dir / "ca.key"
        self.cert = self.dir / "ca.pem"
        if not create:
            return
        (self.dir / "issued").mkdir(parents=True)
        (self.dir / "index.txt").write_text("")
        (self.dir / "serial").write_text("1000\n")
        (self.dir / "crlnumber").write_text("01\n")
        self.config.write_text(_CA_CONFIG.format(dir=self.dir))

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

    # Names as Pki.at expects them.
    enterprise("a", TAX_CODE_A)
    enterprise("a-ec", TAX_CODE_A, "ec")
    enterprise("b", TAX_CODE_B)
    revoked = enterprise("revoked", TAX_CODE_A)
    enterprise("expired", TAX_CODE_A, start="20200101000000Z", end="20210101000000Z")
    enterprise("no-signing", TAX_CODE_A, ext="v3_no_signing")
    enterprise("weak", TAX_CODE_A, "rsa1024")
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
    root.crl(folder / "root.crl.pem")
    ca.crl(folder / "licensed-ca.crl.pem")
    return Pki.at(folder)


def renew_crls(pki: Pki) -> None:
    """Fresh CRLs from both CAs (thisUpdate now, nextUpdate in 30 days)."""
    _Ca(pki.folder, "root", create=False).crl(pki.root_crl)
    _Ca(pki.folder, "licensed-ca", create=False).crl(pki.ca_crl)


def ensure_pki(folder: Path) -> Pki:
    """The PKI in ``folder``, built on first use; its CRLs renewed on every call."""
    if not (folder / "licensed-ca.crl.pem").exists():
        return build_pki(folder)
    pki = Pki.at(folder)
    renew_crls(pki)
    return pki


if __name__ == "__main__":
    import sys

    made = ensure_pki(Path(sys.argv[1] if len(sys.argv) > 1 else ".run/pki"))
    for key, value in made.signature_env().items():
        sys.stdout.write(f"{key}={value}\n")
