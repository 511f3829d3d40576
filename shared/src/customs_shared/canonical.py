"""The bytes a declaration's signature covers: the RFC 8785 (JCS) canonical JSON of the
declaration body without its ``signature`` field. Signer and verifier use this one function."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import rfc8785
from starlette.requests import Request

SIGNATURE_FIELD = "signature"


def signed_bytes(body: Mapping[str, Any]) -> bytes:
    """RFC 8785 canonical JSON of ``body`` without ``signature``. ``body`` is the JSON as
    sent (numbers as JSON numbers, strings as strings), not a parsed model."""
    return rfc8785.dumps({k: v for k, v in body.items() if k != SIGNATURE_FIELD})


def signed_digest(body: Mapping[str, Any]) -> bytes:
    """SHA-256 of :func:`signed_bytes`: what travels in events instead of the body."""
    return hashlib.sha256(signed_bytes(body)).digest()


async def signed_digest_of(request: Request) -> bytes | None:
    """:func:`signed_digest` of a JSON request body as it was sent; None when it has no
    canonical form (not an object, or a number outside what RFC 8785 can represent)."""
    try:
        body = await request.json()
        return signed_digest(body) if isinstance(body, dict) else None
    except ValueError:  # not JSON, or rfc8785.CanonicalizationError
        return None
