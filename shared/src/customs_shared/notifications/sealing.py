"""Webhook signing secrets at rest: sealed with AES-256-GCM under a key from the settings.

A sealed secret reads ``v1:<key id>:<base64url(nonce ‖ ciphertext)>``. The key id names the
key that sealed it, so keys can rotate: the current key seals, the current and the previous
ones open, and :func:`customs_shared.notifications.service.reseal_secrets` moves rows sealed
with a previous key (or stored in clear before sealing existed) to the current one. The
subscription's id is the associated data: a sealed secret copied onto another row does not
open there."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MIN_KEY_CHARACTERS = 32
_VERSION = "v1"
_NONCE_BYTES = 12
# The secrets stored before sealing existed (Standard Webhooks' whsec_ form).
_CLEAR_PREFIX = "whsec_"


class SecretUnreadable(Exception):
    """A stored secret no configured key opens."""


@dataclass(frozen=True, slots=True)
class _Key:
    id: str
    aead: AESGCM


def _key(material: str) -> _Key:
    # The settings hold a passphrase-like string (like the cursor secret); HKDF turns it
    # into the AES key, and a hash of that key (not of the material) names it.
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"customs webhook secrets v1"
    ).derive(material.encode())
    return _Key(id=hashlib.sha256(derived).hexdigest()[:12], aead=AESGCM(derived))


class SecretSealer:
    def __init__(self, current: str, previous: Sequence[str] = ()) -> None:
        for material in (current, *previous):
            if len(material) < MIN_KEY_CHARACTERS:
                raise ValueError(
                    f"a webhook secret key needs at least {MIN_KEY_CHARACTERS} characters"
                )
        self._current = _key(current)
        self._keys = {k.id: k for k in (_key(m) for m in (*previous, current))}

    @property
    def current_prefix(self) -> str:
        """What every secret sealed with the current key starts with."""
        return f"{_VERSION}:{self._current.id}:"

    @property
    def stale_prefixes(self) -> list[str]:
        """What the secrets to reseal start with: those in clear from before sealing, and
        those sealed with a previous key (never those no configured key opens)."""
        previous = [f"{_VERSION}:{key_id}:" for key_id in self._keys if key_id != self._current.id]
        return [_CLEAR_PREFIX, *previous]

    def seal(self, owner: uuid.UUID, secret: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._current.aead.encrypt(nonce, secret.encode(), owner.bytes)
        return self.current_prefix + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, owner: uuid.UUID, stored: str) -> str:
        if stored.startswith(_CLEAR_PREFIX):
            return stored  # not yet resealed (reseal_secrets does it)
        version, key_id, payload = [*stored.split(":", 2), "", ""][:3]
        key = self._keys.get(key_id)
        if version != _VERSION or key is None:
            raise SecretUnreadable(f"sealed with key {key_id!r}, which is not configured")
        try:
            raw = base64.urlsafe_b64decode(payload)
            if len(raw) <= _NONCE_BYTES:
                raise SecretUnreadable("the sealed secret is cut short")
            opened = key.aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], owner.bytes)
        except (InvalidTag, binascii.Error) as exc:
            raise SecretUnreadable("the sealed secret does not open with its key") from exc
        return opened.decode()
