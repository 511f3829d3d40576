"""Problems the verification API answers with."""

from __future__ import annotations

from customs_shared.problems import Forbidden, NotFound, PayloadTooLarge, UnprocessableContent


class ReportNotFound(NotFound):
    slug = "signature-report-not-found"
    title = "Signature report not found"


class PartTooLarge(PayloadTooLarge):
    slug = "part-too-large"
    title = "An uploaded file is too large"


class InvalidTaxCode(UnprocessableContent):
    slug = "invalid-tax-code"
    title = "Not a valid tax code"


class ValidationTimeNotAllowed(Forbidden):
    slug = "validation-time-not-allowed"
    title = "Only officers and admins may choose the validation time"
