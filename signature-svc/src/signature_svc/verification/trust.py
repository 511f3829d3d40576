"""Trust material: anchors, licensed CAs and CRLs, parsed once and versioned.

A CRL is kept only when its signature checks out against a known CA certificate
with the cRLSign usage; certificates carried by a signature never become trusted."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from asn1crypto import crl as asn1_crl
from asn1crypto import pem, x509
from cryptography import x509 as cx509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.verification import Store

logger = logging.getLogger(__name__)

MAX_BUNDLE_CERTIFICATES = 1000


class TrustMaterialError(ValueError):
    """A bundle, certificate or CRL that cannot be used."""


def _blocks(data: bytes) -> list[bytes]:
    """DER bodies of every PEM block, or the data itself when it is DER."""
    if pem.detect(data):
        return [der for _, _, der in pem.unarmor(data, multiple=True)]
    return [data]


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle (or one DER certificate)."""
    try:
        blocks = _blocks(data)
        if len(blocks) > MAX_BUNDLE_CERTIFICATES:
            raise TrustMaterialError(f"more than {MAX_BUNDLE_CERTIFICATES} certificates")
        certs = [x509.Certificate.load(der) for der in blocks]
        for cert in certs:
            _ = cert.subject.human_friendly, cert.public_key.algorithm  # parse now, not later
    except TrustMaterialError:
        raise
    except Exception as e:
        raise TrustMaterialError(f"not a certificate: {e}") from e
    return certs


def load_certificate(data: bytes) -> x509.Certificate:
    certs = load_certificates(data)
    if len(certs) != 1:
        raise TrustMaterialError(f"expected one certificate, found {len(certs)}")
    return certs[0]


def load_crl(data: bytes) -> asn1_crl.CertificateList:
    try:
        blocks = _blocks(data)
        if len(blocks) != 1:
            raise TrustMaterialError(f"expected one CRL, found {len(blocks)}")
        # strict: nothing may follow the CRL (it would be dropped unnoticed otherwise).
        crl = asn1_crl.CertificateList.load(blocks[0], strict=True)
        _ = crl.issuer.human_friendly, crl["tbs_cert_list"]["this_update"].native
    except TrustMaterialError:
        raise
    except Exception as e:
        raise TrustMaterialError(f"not a CRL: {e}") from e
    return crl


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.dump()).hexdigest()


def crl_issuer_of(
    crl: asn1_crl.CertificateList, cas: Iterable[x509.Certificate]
) -> x509.Certificate:
    """The CA certificate whose key signed the CRL; raises when none did."""
    try:
        parsed = cx509.load_der_x509_crl(crl.dump())
    except ValueError as e:
        raise TrustMaterialError(f"unreadable CRL: {e}") from e
    for ca in cas:
        if ca.subject != crl.issuer:
            continue
        usage = ca.key_usage_value
        if usage is not None and "crl_sign" not in usage.native:
            continue
        try:
            public_key = cx509.load_der_x509_certificate(ca.dump()).public_key()
            if parsed.is_signature_valid(public_key):  # type: ignore[arg-type]
                return ca
        except (ValueError, TypeError, InvalidSignature):
            continue
    raise TrustMaterialError(f"no known CA signed the CRL of {crl.issuer.human_friendly}")


@dataclass(frozen=True)
class TrustMaterial:
    """Anchors, licensed CAs and checked CRLs; ``version`` changes whenever any of them does."""

    anchors: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...] = ()
    crls: tuple[asn1_crl.CertificateList, ...] = ()
    version: str = field(default="")

    @classmethod
    def build(
        cls,
        anchors: Iterable[x509.Certificate],
        intermediates: Iterable[x509.Certificate] = (),
        crls: Iterable[asn1_crl.CertificateList] = (),
    ) -> TrustMaterial:
        anchors, intermediates = tuple(anchors), tuple(intermediates)
        checked: list[asn1_crl.CertificateList] = []
        for crl in crls:
            try:
                crl_issuer_of(crl, (*anchors, *intermediates))
            except TrustMaterialError as e:
                logger.warning("CRL ignored: %s", e)
                continue
            checked.append(crl)
        digest = hashlib.sha256()
        for item in (*anchors, *intermediates, *checked):
            digest.update(hashlib.sha256(item.dump()).digest())
        return cls(anchors, intermediates, tuple(checked), digest.hexdigest())

    @cached_property
    def strict_store(self) -> Store:
        """The anchors as ``cryptography`` needs them for its strict verifier."""
        return Store([cx509.load_der_x509_certificate(a.dump()) for a in self.anchors])

    @cached_property
    def strict_intermediates(self) -> list[cx509.Certificate]:
        return [cx509.load_der_x509_certificate(c.dump()) for c in self.intermediates]

    @cached_property
    def anchor_fingerprints(self) -> frozenset[str]:
        return frozenset(fingerprint(a) for a in self.anchors)

    @property
    def cas(self) -> tuple[x509.Certificate, ...]:
        return (*self.anchors, *self.intermediates)

    def with_crl(self, crl: asn1_crl.CertificateList) -> TrustMaterial:
        """This material with ``crl`` added (replacing older CRLs of the same issuer);
        raises when no known CA signed it."""
        crl_issuer_of(crl, self.cas)
        kept = [c for c in self.crls if c.issuer != crl.issuer]
        return TrustMaterial.build(self.anchors, self.intermediates, [*kept, crl])


def read_crl_dir(folder: Path) -> list[asn1_crl.CertificateList]:
    """Every readable CRL in the folder (DER or PEM); unreadable files are logged and skipped."""
    crls = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else ():
        if not path.is_file():
            continue
        try:
            crls.append(load_crl(path.read_bytes()))
        except (OSError, TrustMaterialError) as e:
            logger.warning("CRL file %s ignored: %s", path, e)
    return crls


def crl_dir_stamp(folder: Path | None) -> tuple[tuple[str, int, int], ...]:
    """What changes when a file in the folder does: names, sizes and modification times."""
    if folder is None or not folder.is_dir():
        return ()
    stamp = []
    for path in sorted(folder.iterdir()):
        try:
            st = path.stat()
        except OSError:
            continue
        stamp.append((path.name, st.st_size, st.st_mtime_ns))
    return tuple(stamp)


def load_trust(
    anchors: Path | None, intermediates: Path | None = None, crl_dir: Path | None = None
) -> TrustMaterial:
    """Trust material from the configured files; no anchors means nothing is trusted."""
    roots = load_certificates(anchors.read_bytes()) if anchors else []
    cas = load_certificates(intermediates.read_bytes()) if intermediates else []
    crls = read_crl_dir(crl_dir) if crl_dir else []
    return TrustMaterial.build(roots, cas, crls)
