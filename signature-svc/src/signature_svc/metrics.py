"""What operators watch of the trust material: when CRLs go stale and when the
configured CA certificates expire. A stale CRL turns every verification below that CA
into INDETERMINATE/TRY_LATER, so it must be renewed before its next update."""

from __future__ import annotations

from asn1crypto import crl as asn1_crl
from asn1crypto import x509
from prometheus_client import Gauge

CRL_NEXT_UPDATE = Gauge(
    "signature_crl_next_update_timestamp_seconds",
    "When the CRL in use for an issuer must be replaced by a newer one (Unix time)",
    ["issuer"],
)
TRUST_CERTIFICATE_NOT_AFTER = Gauge(
    "signature_trust_certificate_not_after_timestamp_seconds",
    "When a configured trust anchor or licensed CA certificate expires (Unix time)",
    ["role", "subject"],
)


def record_trust(
    anchors: tuple[x509.Certificate, ...],
    intermediates: tuple[x509.Certificate, ...],
    crls: tuple[asn1_crl.CertificateList, ...],
) -> None:
    """Sets the gauges to the trust material now in use, dropping what left it."""
    TRUST_CERTIFICATE_NOT_AFTER.clear()
    for role, certificates in (("anchor", anchors), ("intermediate", intermediates)):
        for certificate in certificates:
            TRUST_CERTIFICATE_NOT_AFTER.labels(role, certificate.subject.human_friendly).set(
                certificate.not_valid_after.timestamp()
            )
    CRL_NEXT_UPDATE.clear()
    for crl in crls:
        next_update = crl["tbs_cert_list"]["next_update"].native
        if next_update is not None:
            CRL_NEXT_UPDATE.labels(crl.issuer.human_friendly).set(next_update.timestamp())
