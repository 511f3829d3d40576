"""Secrets the gateway generates, stored as HMAC-SHA-256 under a server-side pepper.

A generated secret has 256 bits of entropy: no dictionary holds it and guessing it is
out of reach, so a slow hash adds nothing an attacker would feel; a keyed fast hash
keeps a stolen clients list useless without the pepper (kept apart, in the gateway's
secret) and costs microseconds instead of argon2id's tens of milliseconds per token.
Secrets a person chose (the demo ones) stay argon2id.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX = "$hmac-sha256$"
SECRET_BYTES = 32  # 256 bits


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def keyed_hash(secret: str, pepper: bytes) -> str:
    return PREFIX + hmac.new(pepper, secret.encode(), hashlib.sha256).hexdigest()


def is_keyed(stored: str) -> bool:
    return stored.startswith(PREFIX)


def matches(stored: str, secret: str, pepper: bytes) -> bool:
    return hmac.compare_digest(stored.encode(), keyed_hash(secret, pepper).encode())
