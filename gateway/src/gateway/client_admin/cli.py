"""The commands of ``python -m gateway.clients`` that work on the gateway's database
(GATEWAY_DATABASE_URL, GATEWAY_SECRET_PEPPER and GATEWAY_KAFKA_BOOTSTRAP as the
gateway reads them). Each prints JSON; a generated secret is printed once."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.db import create_engine, run_migrations
from customs_shared.problems import ProblemError
from customs_shared.revocation import RevocationKind
from customs_shared.services import GATEWAY
from gateway.client_admin import repository, service
from gateway.client_admin.models import RegisteredClient
from gateway.client_admin.schemas import ClientChange, ClientRegistration
from gateway.publisher import KafkaPublisher
from gateway.settings import GatewaySettings


def add_commands(commands: Any) -> None:
    register = commands.add_parser("register", help="register a client; prints its secret once")
    register.add_argument("client_id")
    register.add_argument("--role", action="append", required=True, dest="roles")
    register.add_argument("--tenant", required=True)
    register.add_argument("--scope", action="append", default=[], dest="scopes")
    register.add_argument("--partner-event-type", action="append", default=[], dest="types")
    register.add_argument("--partner-event-source")
    register.add_argument("--description", default="")
    register.add_argument("--rate-limit-per-minute", type=int)
    register.add_argument(
        "--jwks-file", type=Path, help="public keys (JWK Set JSON) for private_key_jwt"
    )
    commands.add_parser("list", help="list the registered clients (no secrets)")
    rotate = commands.add_parser("rotate", help="new secret, printed once; the old one overlaps")
    rotate.add_argument("client_id")
    rotate.add_argument("--keep-previous-seconds", type=int, default=3600)
    disable = commands.add_parser("disable", help="no new tokens; revokes its current ones")
    disable.add_argument("client_id")
    disable.add_argument("--reason", required=True)
    enable = commands.add_parser("enable", help="enable a disabled client")
    enable.add_argument("client_id")
    limit = commands.add_parser("set-rate-limit", help="a client's own API calls per minute")
    limit.add_argument("client_id")
    limit.add_argument("per_minute", type=int)


def _shown(row: RegisteredClient, secret: str | None = None) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "client_id": row.client_id,
        "roles": row.roles,
        "tenant": row.tenant,
        "scopes": row.scopes,
        "partner_event_types": row.partner_event_types,
        "partner_event_source": row.partner_event_source,
        "rate_limit_per_minute": row.rate_limit_per_minute,
        "enabled": row.disabled_at is None,
        "version": row.version,
    }
    if row.previous_secret_expires_at is not None:
        shown["previous_secret_expires_at"] = row.previous_secret_expires_at.isoformat()
    if secret is not None:
        shown["client_secret"] = secret
    return shown


async def _revoke_tokens(settings: GatewaySettings, client_id: str, reason: str) -> bool:
    publisher = KafkaPublisher(
        settings.kafka_bootstrap,
        f"{settings.service_name}-cli",
        timeout_seconds=settings.partner_publish_timeout_seconds,
    )
    try:
        await publisher.revoke(RevocationKind.CLIENT, client_id, reason)
    except ProblemError:
        return False
    finally:
        await publisher.close()
    return True


async def _run(args: argparse.Namespace, settings: GatewaySettings) -> dict[str, Any] | list[Any]:
    pepper = settings.secret_pepper.get_secret_value().encode() if settings.secret_pepper else None
    engine = create_engine(settings.database_url.get_secret_value(), pool_size=1)
    try:
        await run_migrations(engine, GATEWAY.migrations)
        sessions = async_sessionmaker(engine, expire_on_commit=False)

        async def within(
            work: Callable[[AsyncSession], Awaitable[dict[str, Any] | list[Any]]],
        ) -> dict[str, Any] | list[Any]:
            async with sessions() as session, session.begin():
                return await work(session)

        if args.command == "register":
            body = ClientRegistration(
                client_id=args.client_id,
                roles=args.roles,
                tenant=args.tenant,
                scopes=args.scopes,
                partner_event_types=args.types,
                partner_event_source=args.partner_event_source,
                description=args.description,
                rate_limit_per_minute=args.rate_limit_per_minute,
                jwks=json.loads(args.jwks_file.read_text()) if args.jwks_file else None,
            )

            async def register(session: AsyncSession) -> dict[str, Any]:
                row, secret = await service.register(session, body, pepper=pepper)
                return _shown(row, secret)

            return await within(register)
        if args.command == "list":

            async def listing(session: AsyncSession) -> list[Any]:
                return [_shown(r) for r in await repository.all_clients(session)]

            return await within(listing)
        if args.command == "rotate":

            async def rotation(session: AsyncSession) -> dict[str, Any]:
                row, secret = await service.rotate(
                    session,
                    args.client_id,
                    keep_previous=timedelta(seconds=args.keep_previous_seconds),
                    pepper=pepper,
                )
                return _shown(row, secret)

            return await within(rotation)
        if args.command == "disable":

            async def disabling(session: AsyncSession) -> dict[str, Any]:
                return _shown(await service.disable(session, args.client_id, args.reason))

            shown = await within(disabling)
            assert isinstance(shown, dict)
            shown["tokens_revoked"] = await _revoke_tokens(settings, args.client_id, args.reason)
            return shown
        if args.command == "set-rate-limit":
            change = ClientChange(rate_limit_per_minute=args.per_minute)

            async def limiting(session: AsyncSession) -> dict[str, Any]:
                return _shown(await service.change(session, args.client_id, change))

            return await within(limiting)

        async def enabling(session: AsyncSession) -> dict[str, Any]:
            return _shown(await service.enable(session, args.client_id))

        return await within(enabling)
    finally:
        await engine.dispose()


def run(args: argparse.Namespace) -> int:
    try:
        settings = GatewaySettings()
        result = asyncio.run(_run(args, settings))
    except ValidationError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    except ProblemError as exc:
        sys.stderr.write(f"{exc.title}: {exc.detail}\n")
        return 1
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    if isinstance(result, dict) and result.get("tokens_revoked") is False:
        sys.stderr.write(
            "Kafka did not take the revocation: its current tokens live until they expire; "
            "revoke them with POST /api/v1/token-revocations.\n"
        )
        return 1
    return 0
