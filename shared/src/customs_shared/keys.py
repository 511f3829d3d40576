"""Ed25519 signing keys, their RFC 7638 ``kid`` and the published JWKS: the gateway's
token key and declaration-svc's receipt key.

The private key lives in a PEM file. For a local run it is generated on first
start (mode 0600). During a rotation the retired keys' public halves are put in
``previous_public_keys_dir`` so what they signed still verifies.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

log = logging.getLogger(__name__)

ALGORITHM = "EdDSA"


class SigningKeyError(RuntimeError):
    """The signing key is missing, unreadable or not an Ed25519 key."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 thumbprint of an OKP key: SHA-256 over the required members, sorted,
    without whitespace, base64url without padding."""
    required = {name: jwk[name] for name in ("crv", "kty", "x")}
    canonical = json.dumps(required, sort_keys=True, separators=(",", ":"))
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    """The public JWK with ``kid`` (its thumbprint), ``use`` and ``alg``."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw)}
    return {**jwk, "kid": jwk_thumbprint(jwk), "use": "sig", "alg": ALGORITHM}


def _write_new_key(path: Path, password: bytes | None) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Written whole under a name of its own, then linked to ``path``, which fails if it
    # exists: of two processes starting at once, one key wins and the other process reads
    # it complete (creating ``path`` and then writing it would let that one read it empty).
    fd, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(draft, path)
    finally:
        os.unlink(draft)
    log.warning("generated a new signing key", extra={"path": str(path)})
    return key


def _read_key(path: Path, password: bytes | None) -> Ed25519PrivateKey:
    if os.name == "posix" and path.stat().st_mode & 0o077:
        log.warning("signing key file is readable by group or others", extra={"path": str(path)})
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=password)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"cannot read the signing key in {path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} does not hold an Ed25519 private key")
    return key


def load_or_create_private_key(
    path: Path, *, generate: bool, password: bytes | None = None
) -> Ed25519PrivateKey:
    if path.exists():
        return _read_key(path, password)
    if not generate:
        raise SigningKeyError(
            f"signing key file {path} does not exist (set the service's "
            "*_GENERATE_SIGNING_KEY=true to create one)"
        )
    try:
        return _write_new_key(path, password)
    except FileExistsError:
        return _read_key(path, password)


def load_public_keys(folder: Path) -> list[Ed25519PublicKey]:
    """Every ``*.pem`` public key in ``folder`` (sorted by file name)."""
    keys: list[Ed25519PublicKey] = []
    for file in sorted(folder.glob("*.pem")):
        try:
            key = serialization.load_pem_public_key(file.read_bytes())
        except ValueError as exc:
            raise SigningKeyError(f"cannot read the public key in {file}: {exc}") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise SigningKeyError(f"{file} does not hold an Ed25519 public key")
        keys.append(key)
    return keys


@dataclass(frozen=True)
class KeyRing:
    """The current signing key plus every public key the JWKS lists."""

    signing_key: Ed25519PrivateKey
    kid: str
    public_jwks: tuple[dict[str, str], ...]
    _by_kid: dict[str, jwt.PyJWK] = field(repr=False)

    @classmethod
    def build(
        cls, signing_key: Ed25519PrivateKey, previous: list[Ed25519PublicKey] | None = None
    ) -> KeyRing:
        current = public_jwk(signing_key.public_key())
        jwks = [current]
        for key in previous or ():
            jwk = public_jwk(key)
            if all(jwk["kid"] != known["kid"] for known in jwks):
                jwks.append(jwk)
        by_kid = {jwk["kid"]: jwt.PyJWK(jwk, ALGORITHM) for jwk in jwks}
        return cls(signing_key, current["kid"], tuple(jwks), by_kid)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [dict(jwk) for jwk in self.public_jwks]}

    def verification_key(self, kid: str) -> jwt.PyJWK | None:
        return self._by_kid.get(kid)


def load_key_ring(
    signing_key_file: Path,
    *,
    generate: bool,
    password: bytes | None = None,
    previous_public_keys_dir: Path | None = None,
) -> KeyRing:
    private = load_or_create_private_key(signing_key_file, generate=generate, password=password)
    previous = load_public_keys(previous_public_keys_dir) if previous_public_keys_dir else []
    ring = KeyRing.build(private, previous)
    log.info("signing keys loaded", extra={"kid": ring.kid, "published": len(ring.public_jwks)})
    return ring


class LocalKeySource:
    """The gateway's own keys, in memory, as a ``customs_shared.auth.KeySource``:
    the gateway verifies tokens without fetching its own JWKS over HTTP."""

    def __init__(self, ring: KeyRing) -> None:
        self._ring = ring

    async def get(self, kid: str) -> jwt.PyJWK | None:
        return self._ring.verification_key(kid)
