"""Problems the CRL upload answers with."""

from __future__ import annotations

from customs_shared.problems import UnprocessableContent


class CrlRefused(UnprocessableContent):
    slug = "crl-refused"
    title = "The CRL cannot be used"
