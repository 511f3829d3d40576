"""Problems the certificate registry answers with."""

from __future__ import annotations

from customs_shared.problems import Conflict, Forbidden, NotFound, UnprocessableContent


class CertificateNotFound(NotFound):
    slug = "certificate-not-found"
    title = "Registered certificate not found"


class CertificateRefused(UnprocessableContent):
    slug = "certificate-refused"
    title = "The certificate cannot be registered"


class CertificateAlreadyRegistered(Conflict):
    slug = "certificate-already-registered"
    title = "The certificate is already registered for this tax code"


class NotYourTaxCode(Forbidden):
    slug = "not-your-tax-code"
    title = "An enterprise registers certificates for its own tax code only"
