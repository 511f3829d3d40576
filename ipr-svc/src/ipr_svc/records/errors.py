"""Problems the IPR records API answers with."""

from __future__ import annotations

from customs_shared.problems import BadRequest


class MalformedImport(BadRequest):
    slug = "ipr-import-malformed"
    title = "The import is not JSON records or CSV of their fields"
