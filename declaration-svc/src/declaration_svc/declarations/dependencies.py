"""The request headers the declaration routers share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x20-\x7e]+$",
        description="A retry with the same key and the same request is answered as the "
        "first time, and makes nothing again (another request with the key: 422; while the "
        "first is in flight: 409). Keys are kept 24 h. Visible ASCII and spaces.",
    ),
]


IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=200,
        description='The ETag of the version acted on, e.g. "v1" (from GET).',
    ),
]
