"""Canonical JSON (RFC 8785, JCS) of a declaration body as it was sent: the bytes its
signature covers (the body without its ``signature`` member), and the whole body, whose
digest a receipt carries. Signer, verifier and receipts use these functions, and so can a
broker: any RFC 8785 implementation gives the same bytes from the JSON it sent."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import rfc8785
from starlette.requests import Request

from customs_shared.problems import UnprocessableContent

SIGNATURE_FIELD = "signature"


class NotCanonicalizable(UnprocessableContent):
    """A body with a number RFC 8785 cannot write exactly: an integer of 2^53 or more
    (beyond the IEEE 754 doubles that I-JSON, RFC 7493 §2.2, keeps numbers to)."""

    slug = "number-not-interoperable"
    title = "A number in the body has no canonical JSON form"


def signed_bytes(body: Mapping[str, Any]) -> bytes:
    """RFC 8785 canonical JSON of ``body`` without ``signature``. ``body`` is the JSON as
    sent (numbers as JSON numbers, strings as strings), not a parsed model."""
    return rfc8785.dumps({k: v for k, v in body.items() if k != SIGNATURE_FIELD})


def signed_digest(body: Mapping[str, Any]) -> bytes:
    """SHA-256 of :func:`signed_bytes`: what travels in events instead of the body."""
    return hashlib.sha256(signed_bytes(body)).digest()


@dataclass(frozen=True, slots=True)
class SentDigests:
    """SHA-256 digests of a JSON body as it was sent."""

    # Of its RFC 8785 canonical JSON, signature and all: what a receipt names.
    body: bytes
    # Of :func:`signed_bytes`; None when the body is not signed.
    signed: bytes | None


def sent_digests(body: Mapping[str, Any], *, signed: bool) -> SentDigests:
    """``body``'s digests; ``signed``: whether it carries a signature to verify. Raises
    :class:`NotCanonicalizable` for a number RFC 8785 cannot write."""
    try:
        members = _canonical_members(body)
    except rfc8785.CanonicalizationError as error:
        raise NotCanonicalizable(
            f"{error}. Numbers must be exact as IEEE 754 doubles (I-JSON, RFC 7493 §2.2) "
            "for the body to have one canonical form (RFC 8785); send a larger value as a "
            "string."
        ) from error
    return SentDigests(
        hashlib.sha256(_canonical_object(members)).digest(),
        hashlib.sha256(_canonical_object([m for m in members if m[0] != SIGNATURE_FIELD])).digest()
        if signed
        else None,
    )


def _canonical_members(body: Mapping[str, Any]) -> list[tuple[str, bytes]]:
    """Each member of ``body`` in RFC 8785 form (``"name":value``), in the order §3.2.3
    gives them (by their names' UTF-16 code units): both digests are joined from these,
    so an intake canonicalizes its body once, not once per digest."""
    members = [
        (name, rfc8785.dumps(name) + b":" + rfc8785.dumps(value)) for name, value in body.items()
    ]
    members.sort(key=lambda member: member[0].encode("utf-16-be"))
    return members


def _canonical_object(members: list[tuple[str, bytes]]) -> bytes:
    return b"{" + b",".join(member for _name, member in members) + b"}"


async def sent_digests_of(request: Request, *, signed: bool) -> SentDigests:
    """:func:`sent_digests` of a request's JSON object body, parsed again as it was sent
    (the endpoint's model has already validated it)."""
    body = await request.json()
    if not isinstance(body, dict):
        raise TypeError("the body was validated as a JSON object")
    return sent_digests(body, signed=signed)
