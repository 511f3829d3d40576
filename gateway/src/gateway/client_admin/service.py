"""Registering, changing, rotating, disabling clients; seeding them from the clients file
(the local run's) and loading them into the registry. Secrets are generated here (256 bits)
and kept only as HMAC-SHA-256 under the pepper; the secret itself is returned once."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.auth import Role
from customs_shared.db import utcnow
from gateway import keyed_secrets
from gateway.client_admin import repository
from gateway.client_admin.errors import (
    ClientExists,
    ClientNotFound,
    InvalidClient,
    PepperMissing,
)
from gateway.client_admin.models import RegisteredClient
from gateway.client_admin.schemas import ClientChange, ClientRegistration
from gateway.clients import OAuthClient

log = logging.getLogger(__name__)


def to_oauth_client(row: RegisteredClient) -> OAuthClient:
    return OAuthClient(
        client_id=row.client_id,
        client_secret_hash=row.secret_hash,
        previous_secret_hash=row.previous_secret_hash,
        previous_secret_expires_at=row.previous_secret_expires_at,
        roles=tuple(Role(r) for r in row.roles),
        tenant=row.tenant,
        scopes=tuple(row.scopes),
        partner_event_types=tuple(row.partner_event_types),
        partner_event_source=row.partner_event_source,
        description=row.description,
        rate_limit_per_minute=row.rate_limit_per_minute,
        jwks=row.jwks,
    )


def _checked(row: RegisteredClient) -> None:
    """The rules of a client's registration (a broker's tenant is a tax code, partner
    types need a source…), the same as for the clients file."""
    try:
        to_oauth_client(row)
    except ValidationError as exc:
        problems = "; ".join(e["msg"] for e in exc.errors())
        raise InvalidClient(problems) from None


def _new_secret(pepper: bytes | None) -> tuple[str, str]:
    if pepper is None:
        raise PepperMissing("Set GATEWAY_SECRET_PEPPER (at least 32 characters).")
    secret = keyed_secrets.new_secret()
    return secret, keyed_secrets.keyed_hash(secret, pepper)


async def register(
    session: AsyncSession, body: ClientRegistration, *, pepper: bytes | None
) -> tuple[RegisteredClient, str]:
    if await repository.get(session, body.client_id) is not None:
        raise ClientExists(f"Client {body.client_id} is registered already.")
    secret, stored = _new_secret(pepper)
    now = utcnow()
    row = RegisteredClient(
        client_id=body.client_id,
        secret_hash=stored,
        roles=[r.value for r in body.roles],
        tenant=body.tenant,
        scopes=list(dict.fromkeys(body.scopes)),
        partner_event_types=list(dict.fromkeys(body.partner_event_types)),
        partner_event_source=body.partner_event_source,
        description=body.description,
        rate_limit_per_minute=body.rate_limit_per_minute,
        jwks=body.jwks,
        created_at=now,
        updated_at=now,
        version=1,
    )
    _checked(row)
    session.add(row)
    log.info("client registered", extra={"client_id": row.client_id})
    return row, secret


async def _existing(session: AsyncSession, client_id: str) -> RegisteredClient:
    row = await repository.get(session, client_id, lock=True)
    if row is None:
        raise ClientNotFound(f"No client {client_id}.")
    return row


def _touch(row: RegisteredClient) -> None:
    row.updated_at = utcnow()
    row.version += 1


async def change(session: AsyncSession, client_id: str, body: ClientChange) -> RegisteredClient:
    row = await _existing(session, client_id)
    values: dict[str, Any] = body.model_dump(exclude_unset=True)
    if "roles" in values and values["roles"] is not None:
        values["roles"] = [str(r) for r in values["roles"]]
    for name, value in values.items():
        if value is None and name not in ("partner_event_source", "rate_limit_per_minute", "jwks"):
            continue
        setattr(row, name, value)
    _checked(row)
    _touch(row)
    log.info("client changed", extra={"client_id": client_id, "fields": sorted(values)})
    return row


async def rotate(
    session: AsyncSession, client_id: str, *, keep_previous: timedelta, pepper: bytes | None
) -> tuple[RegisteredClient, str]:
    """A new secret; the old one keeps working for ``keep_previous`` (the overlap)."""
    row = await _existing(session, client_id)
    secret, stored = _new_secret(pepper)
    if keep_previous > timedelta(0):
        row.previous_secret_hash = row.secret_hash
        row.previous_secret_expires_at = utcnow() + keep_previous
    else:
        row.previous_secret_hash = row.previous_secret_expires_at = None
    row.secret_hash = stored
    _touch(row)
    log.warning("client secret rotated", extra={"client_id": client_id})
    return row, secret


async def disable(session: AsyncSession, client_id: str, reason: str) -> RegisteredClient:
    row = await _existing(session, client_id)
    if row.disabled_at is None:
        row.disabled_at = utcnow()
        row.disabled_reason = reason
        _touch(row)
        log.warning("client disabled", extra={"client_id": client_id, "reason": reason})
    return row


async def enable(session: AsyncSession, client_id: str) -> RegisteredClient:
    row = await _existing(session, client_id)
    if row.disabled_at is not None:
        row.disabled_at = row.disabled_reason = None
        _touch(row)
        log.warning("client enabled", extra={"client_id": client_id})
    return row


async def get(session: AsyncSession, client_id: str) -> RegisteredClient:
    row = await repository.get(session, client_id)
    if row is None:
        raise ClientNotFound(f"No client {client_id}.")
    return row


async def seed(session: AsyncSession, clients: Sequence[OAuthClient]) -> int:
    """Adds the file's clients the database does not know; one the database has (maybe
    changed by an admin since) is left as it is. Returns how many were added."""
    known = await repository.existing_ids(session, [c.client_id for c in clients])
    now = utcnow()
    added = 0
    for client in clients:
        if client.client_id in known:
            continue
        session.add(
            RegisteredClient(
                client_id=client.client_id,
                secret_hash=client.client_secret_hash,
                roles=[r.value for r in client.roles],
                tenant=client.tenant,
                scopes=list(client.scopes),
                partner_event_types=list(client.partner_event_types),
                partner_event_source=client.partner_event_source,
                description=client.description,
                rate_limit_per_minute=client.rate_limit_per_minute,
                jwks=client.jwks,
                created_at=now,
                updated_at=now,
                version=1,
            )
        )
        added += 1
    return added


async def enabled_clients(session: AsyncSession) -> list[OAuthClient]:
    """Every client that may get tokens now; a row that no longer validates is skipped
    (and logged) rather than taking every other client down with it."""
    clients: list[OAuthClient] = []
    for row in await repository.all_clients(session):
        if row.disabled_at is not None:
            continue
        try:
            clients.append(to_oauth_client(row))
        except ValidationError:
            log.exception("stored client is not valid; skipped", extra={"client_id": row.client_id})
    return clients
