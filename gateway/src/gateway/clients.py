"""Registered OAuth2 clients (RFC 6749 §2) and their secret check.

The clients file holds argon2id hashes only (make them with ``python -m
gateway.hash_secret``). Checking a secret runs argon2 in a worker thread, and an
unknown client id is checked against a dummy hash, so a caller cannot tell
unknown ids from wrong secrets by the time the answer takes. Each check takes a
slot of a :class:`~gateway.slots.BoundedSlots` (about one per core): requests
beyond the slots and their short line get a 503 ``busy`` problem instead of
queueing without bound.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import secrets
import sys
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import anyio
import anyio.to_thread
import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from stdnum.vn import mst

from customs_shared.auth import Role
from customs_shared.db import utcnow
from customs_shared.events.catalog import PARTNER_EVENT_TYPES
from gateway import keyed_secrets
from gateway.slots import BoundedSlots

log = logging.getLogger(__name__)

MIN_PEPPER_LENGTH = 32

# RFC 6749 appendix A.4: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
SCOPE_ITEM_PATTERN = r"^[\x21\x23-\x5B\x5D-\x7E]+$"
ScopeToken = Annotated[str, StringConstraints(pattern=SCOPE_ITEM_PATTERN, max_length=64)]
ClientId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]

# Roles whose tenant is an enterprise, hence a Vietnamese tax code (MST).
_TAX_CODE_TENANT_ROLES = frozenset({Role.BROKER})


class ClientsFileError(RuntimeError):
    """The clients file is missing or not valid."""


class OAuthClient(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    client_id: ClientId
    client_secret_hash: str = Field(repr=False)
    roles: tuple[Role, ...] = Field(min_length=1)
    tenant: str = Field(min_length=1, max_length=64)
    scopes: tuple[ScopeToken, ...] = ()
    # Partner agencies: the event types the client may push, and the CloudEvents
    # ``source`` its events must carry (a partner cannot speak for another).
    partner_event_types: tuple[str, ...] = ()
    partner_event_source: str | None = Field(default=None, min_length=1, max_length=500)
    description: str = ""
    rate_limit_per_minute: int | None = Field(
        default=None, ge=1, le=1_000_000, description="API calls per minute; unset: the default."
    )
    # After a rotation the previous secret still works until then (the overlap).
    previous_secret_hash: str | None = Field(default=None, repr=False)
    previous_secret_expires_at: datetime | None = None
    # private_key_jwt (RFC 7523): the public keys (a JWK Set) its assertions are signed with.
    jwks: dict[str, Any] | None = None

    @field_validator("jwks")
    @classmethod
    def _public_keys(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        keys = value.get("keys")
        if not isinstance(keys, list) or not keys or len(keys) > 10:
            raise ValueError("jwks holds 1 to 10 keys")
        for key in keys:
            if not isinstance(key, dict) or "d" in key:
                raise ValueError("jwks holds public keys only")
            if (key.get("kty"), key.get("crv")) not in {("OKP", "Ed25519"), ("EC", "P-256")}:
                raise ValueError("jwks keys are Ed25519 (OKP) or P-256 (EC)")
        try:
            jwt.PyJWKSet.from_dict(value)
        except jwt.PyJWTError as exc:
            raise ValueError(f"jwks is not a valid JWK Set: {exc}") from exc
        return value

    @field_validator("client_secret_hash", "previous_secret_hash")
    @classmethod
    def _known_hash(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if keyed_secrets.is_keyed(value):
            if re.fullmatch(r"[0-9a-f]{64}", value.removeprefix(keyed_secrets.PREFIX)) is None:
                raise ValueError("a $hmac-sha256$ hash is 64 lowercase hex digits")
            return value
        if not value.startswith("$argon2id$"):
            raise ValueError(
                "client_secret_hash must be an argon2id hash ($argon2id$…) or, for a "
                "generated secret, $hmac-sha256$…"
            )
        return value

    @model_validator(mode="after")
    def _tenant_matches_roles(self) -> OAuthClient:
        if _TAX_CODE_TENANT_ROLES.intersection(self.roles) and not mst.is_valid(self.tenant):
            raise ValueError(f"tenant {self.tenant!r} of a broker must be a valid tax code")
        unknown = set(self.partner_event_types) - {t.name for t in PARTNER_EVENT_TYPES}
        if unknown:
            raise ValueError(f"partner_event_types {sorted(unknown)} are not partner event types")
        if self.partner_event_types and self.partner_event_source is None:
            raise ValueError("a client with partner_event_types needs a partner_event_source")
        return self


class ClientsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    comment: str | None = Field(default=None, alias="_comment")
    clients: list[OAuthClient]

    @field_validator("clients")
    @classmethod
    def _unique_ids(cls, clients: list[OAuthClient]) -> list[OAuthClient]:
        seen: set[str] = set()
        for client in clients:
            if client.client_id in seen:
                raise ValueError(f"client_id {client.client_id!r} is listed twice")
            seen.add(client.client_id)
        return clients


class ClientRegistry:
    def __init__(
        self,
        clients: Iterable[OAuthClient],
        *,
        hasher: PasswordHasher | None = None,
        slots: BoundedSlots | None = None,
        pepper: bytes | None = None,
    ) -> None:
        self._hasher = hasher or PasswordHasher()
        self._pepper = pepper
        clients = list(clients)
        keyed = [c.client_id for c in clients if _keyed_hashes(c)]
        if keyed and pepper is None:
            raise ClientsFileError(
                f"clients {keyed} have generated secrets ($hmac-sha256$): set GATEWAY_SECRET_PEPPER"
            )
        # Same parameters as new hashes, so an unknown id costs as much as a known one.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(32))
        # argon2 takes tens of MB and ms of CPU per check: bound how many run at once,
        # and how many may wait for them.
        self.slots = slots or default_slots()
        # A thread per slot, apart from anyio's shared pool, so a held slot never
        # waits for a thread that other work has taken.
        self._threads = anyio.CapacityLimiter(self.slots.slots)
        self._clients: dict[str, OAuthClient] = {}
        self.replace(clients)

    def __len__(self) -> int:
        return len(self._clients)

    def replace(self, clients: Iterable[OAuthClient]) -> None:
        """Swaps in the current clients (registered, changed, disabled ones gone)."""
        fresh = {client.client_id: client for client in clients}
        keyed = [c.client_id for c in fresh.values() if _keyed_hashes(c)]
        if keyed and self._pepper is None:
            log.error(
                "clients with generated secrets need GATEWAY_SECRET_PEPPER; they cannot "
                "authenticate",
                extra={"client_ids": keyed},
            )
        for client in fresh.values():
            stored = client.client_secret_hash
            if not keyed_secrets.is_keyed(stored) and self._hasher.check_needs_rehash(stored):
                log.warning(
                    "client secret hash uses other argon2 parameters than the default; "
                    "re-hash it so every check costs the same",
                    extra={"client_id": client.client_id},
                )
        self._clients = fresh

    def get(self, client_id: str) -> OAuthClient | None:
        return self._clients.get(client_id)

    async def authenticate(self, client_id: str, secret: str) -> OAuthClient | None:
        """The client if ``secret`` is its secret, else None (same cost either way).
        Raises :class:`~gateway.errors.Busy` when no check slot is free soon enough."""
        client = self._clients.get(client_id)
        if client is None:
            await self._argon2(self._dummy_hash, secret)
            return None
        for stored in _current_hashes(client, utcnow()):
            if keyed_secrets.is_keyed(stored):
                # Microseconds: no slot, no thread.
                if self._pepper is not None and keyed_secrets.matches(stored, secret, self._pepper):
                    return client
            elif await self._argon2(stored, secret):
                return client
        return None

    async def _argon2(self, stored: str, secret: str) -> bool:
        async with self.slots.slot():
            return await anyio.to_thread.run_sync(
                self._verify, stored, secret, limiter=self._threads
            )

    def _verify(self, stored: str, secret: str) -> bool:
        try:
            return self._hasher.verify(stored, secret)
        except (VerificationError, InvalidHashError):
            return False


def _current_hashes(client: OAuthClient, now: datetime) -> list[str]:
    """The hashes a secret may match now: the current one, and the previous one during
    the overlap after a rotation."""
    hashes = [client.client_secret_hash]
    expires = client.previous_secret_expires_at
    if client.previous_secret_hash is not None and expires is not None and now < expires:
        hashes.append(client.previous_secret_hash)
    return hashes


def _keyed_hashes(client: OAuthClient) -> bool:
    return any(
        keyed_secrets.is_keyed(h)
        for h in (client.client_secret_hash, client.previous_secret_hash)
        if h is not None
    )


def parse_clients(raw: str | bytes) -> list[OAuthClient]:
    """Clients from the file's JSON: ``{"_comment": …, "clients": [...]}`` or a bare list."""
    data = json.loads(raw)
    if isinstance(data, list):
        data = {"clients": data}
    return ClientsFile.model_validate(data).clients


def default_slots() -> BoundedSlots:
    """One check per core, up to 8 more waiting at most a second each."""
    return BoundedSlots(os.cpu_count() or 2, max_waiting=8, max_wait_seconds=1.0)


def read_clients_file(path: Path) -> list[OAuthClient]:
    """The clients a clients file lists; ClientsFileError if it is missing or not valid."""
    try:
        return parse_clients(path.read_bytes())
    except FileNotFoundError as exc:
        raise ClientsFileError(f"clients file {path} does not exist") from exc
    except (ValidationError, ValueError) as exc:
        raise ClientsFileError(f"clients file {path} is not valid: {exc}") from exc


def new_client_secret(pepper: bytes) -> tuple[str, str]:
    """A generated secret (shown once) and what the clients list keeps of it."""
    secret = keyed_secrets.new_secret()
    return secret, keyed_secrets.keyed_hash(secret, pepper)


def main(argv: list[str] | None = None) -> int:
    """``python -m gateway.clients``: ``new-secret`` prints a generated secret and its
    ``$hmac-sha256$`` hash under ``GATEWAY_SECRET_PEPPER`` (for a clients file);
    ``register``, ``list``, ``rotate``, ``disable``, ``enable`` and ``set-rate-limit``
    work on the gateway's database, as the admin API does."""
    # Imported here: the commands use the database layer, which imports this module.
    from gateway.client_admin import cli

    parser = argparse.ArgumentParser(prog="python -m gateway.clients")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("new-secret", help="generate a client secret (256 bits) and its hash")
    cli.add_commands(commands)
    args = parser.parse_args(argv)
    if args.command != "new-secret":
        return cli.run(args)
    pepper = os.environ.get("GATEWAY_SECRET_PEPPER", "")
    if len(pepper) < MIN_PEPPER_LENGTH:
        sys.stderr.write(f"set GATEWAY_SECRET_PEPPER (at least {MIN_PEPPER_LENGTH} characters)\n")
        return 2
    secret, stored = new_client_secret(pepper.encode())
    sys.stdout.write(f"client_secret: {secret}\nclient_secret_hash: {stored}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
