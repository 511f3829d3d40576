"""Problems the signature-checks API answers with."""

from __future__ import annotations

from customs_shared.problems import NotFound


class SignatureCheckNotFound(NotFound):
    slug = "signature-check-not-found"
    title = "Signature check not found"
