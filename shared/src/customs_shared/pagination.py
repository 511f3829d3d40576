"""Opaque, tamper-evident keyset cursors.

A cursor is ``<payload>.<mac>``, both unpadded base64url. The payload is the keyset
position (an aware timestamp and an id) as text; the MAC is HMAC-SHA256 over a
version tag, the *scope* the cursor was made for (the listing, its tenant and its
filters) and the payload. A cursor that was forged, altered, or made for another
tenant or filter fails the MAC and is refused as ``invalid-cursor`` before its
contents are read. The contents are still checked after the MAC (defence in depth):
a naive or unparseable timestamp is refused the same way, never passed to SQL.

Replicas of a service must share one key, or a cursor from one replica fails on the next.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query

from customs_shared.problems import InvalidCursor

# The ``after`` of a listing paged by row id (as customs_shared.repository's
# ``page_visible`` pages): the ``next_after`` its previous page answered.
AfterRow = Annotated[uuid.UUID | None, Query(description="next_after of the previous page.")]

_VERSION = b"customs-cursor-v1"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}\.[A-Za-z0-9_-]{43}")
_HINT = "Use the next_cursor of a previous page of the same listing."


@dataclass(frozen=True, slots=True)
class KeysetPosition:
    """The last row of a page, in the listing's sort order."""

    created_at: datetime
    id: uuid.UUID


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(raw) != text:  # one spelling per token: unused trailing bits must be zero
        raise ValueError("non-canonical base64")
    return raw


class CursorCodec:
    """Signs and checks cursors with one secret key (HMAC-SHA256)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the cursor key needs at least 32 bytes")
        self._key = key

    def _mac(self, payload: bytes, scope: str) -> bytes:
        if "\x00" in scope:
            raise ValueError("a cursor scope may not contain NUL")
        message = b"\x00".join((_VERSION, scope.encode(), payload))
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def sign(self, payload: bytes, *, scope: str) -> str:
        """A token carrying ``payload`` for ``scope``."""
        return f"{_b64(payload)}.{_b64(self._mac(payload, scope))}"

    def verify(self, token: str, *, scope: str) -> bytes:
        """The payload of a token this key signed for ``scope``; InvalidCursor otherwise."""
        if _TOKEN.fullmatch(token) is None:
            raise InvalidCursor(_HINT)
        encoded_payload, encoded_mac = token.split(".")
        try:
            payload, mac = _unb64(encoded_payload), _unb64(encoded_mac)
        except (binascii.Error, ValueError) as exc:
            raise InvalidCursor(_HINT) from exc
        if not hmac.compare_digest(mac, self._mac(payload, scope)):
            raise InvalidCursor(_HINT)
        return payload

    def encode(self, position: KeysetPosition, *, scope: str) -> str:
        at = position.created_at
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError("cursor timestamps must be timezone-aware")
        payload = f"{at.astimezone(UTC).isoformat()}|{position.id}"
        return self.sign(payload.encode("ascii"), scope=scope)

    def decode(self, token: str, *, scope: str) -> KeysetPosition:
        payload = self.verify(token, scope=scope)
        try:
            created, ident = payload.decode("ascii").split("|")
            at = datetime.fromisoformat(created)
            if at.tzinfo is None or at.utcoffset() is None:
                raise ValueError("naive timestamp")
            return KeysetPosition(at.astimezone(UTC), uuid.UUID(ident))
        except (ValueError, OverflowError) as exc:  # UnicodeDecodeError is a ValueError
            raise InvalidCursor(_HINT) from exc
