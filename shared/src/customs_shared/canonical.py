"""The bytes a declaration's signature covers: the RFC 8785 (JCS) canonical JSON of the
declaration body without its ``signature`` field. Signer and verifier use this one function."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import rfc8785

SIGNATURE_FIELD = "signature"


def signed_bytes(body: Mapping[str, Any]) -> bytes:
    """RFC 8785 canonical JSON of ``body`` without ``signature``. ``body`` is the JSON as
    sent (numbers as JSON numbers, strings as strings), not a parsed model."""
    return rfc8785.dumps({k: v for k, v in body.items() if k != SIGNATURE_FIELD})


def signed_digest(body: Mapping[str, Any]) -> bytes:
    """SHA-256 of :func:`signed_bytes`: what travels in events instead of the body."""
    return hashlib.sha256(signed_bytes(body)).digest()
