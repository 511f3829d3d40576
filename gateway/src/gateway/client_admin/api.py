"""``/api/v1/clients``: admins register, list, change, rotate the secret of, disable and
enable OAuth2 clients. A generated secret is in the answer once and nowhere else.
Every replica's registry follows the table within ``GATEWAY_CLIENTS_REFRESH_SECONDS``;
disabling also revokes the client's current tokens in every service."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from customs_shared.auth import ADMINS, Principal, Scope, allow
from customs_shared.db import DbSession
from customs_shared.problems import Forbidden, Unauthorized, problem_responses
from customs_shared.revocation import RevocationKind
from gateway.client_admin import repository, service
from gateway.client_admin.errors import ClientExists, ClientNotFound, InvalidClient, PepperMissing
from gateway.client_admin.models import RegisteredClient
from gateway.client_admin.schemas import (
    ClientChange,
    ClientOut,
    ClientPage,
    ClientRegistration,
    ClientWithSecret,
    Disabling,
    Rotation,
)
from gateway.errors import KafkaUnavailable
from gateway.state import Publisher, Settings

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/clients", tags=["clients"])

Admin = Annotated[Principal, allow(Scope.ADMIN, ADMINS)]


def _out(row: RegisteredClient) -> ClientOut:
    return ClientOut.model_validate(
        {
            **{c: getattr(row, c) for c in ClientOut.model_fields if hasattr(row, c)},
            "enabled": row.disabled_at is None,
        }
    )


def _with_secret(row: RegisteredClient, secret: str) -> ClientWithSecret:
    return ClientWithSecret(**_out(row).model_dump(), client_secret=secret)


def _pepper(settings: Settings) -> bytes | None:
    pepper = settings.secret_pepper
    return pepper.get_secret_value().encode() if pepper is not None else None


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ClientWithSecret,
    responses=problem_responses(
        Unauthorized, Forbidden, ClientExists, InvalidClient, PepperMissing
    ),
    summary="Register a client; its generated secret (256 bits) is shown in this answer only.",
)
async def register(
    body: ClientRegistration,
    admin: Admin,
    session: DbSession,
    settings: Settings,
    response: Response,
) -> ClientWithSecret:
    row, secret = await service.register(session, body, pepper=_pepper(settings))
    response.headers["Location"] = f"/api/v1/clients/{row.client_id}"
    response.headers["Cache-Control"] = "no-store"
    log.info("client registered by admin", extra={"client_id": row.client_id, "by": admin.subject})
    return _with_secret(row, secret)


@router.get(
    "",
    response_model=ClientPage,
    responses=problem_responses(Unauthorized, Forbidden),
    summary="Registered clients by client id, a page at a time (no secrets).",
)
async def list_clients(
    _admin: Admin,
    session: DbSession,
    after: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ClientPage:
    rows = await repository.page(session, after=after, limit=limit)
    return ClientPage(
        items=[_out(r) for r in rows],
        next_cursor=rows[-1].client_id if len(rows) == limit else None,
    )


@router.get(
    "/{client_id}",
    response_model=ClientOut,
    responses=problem_responses(Unauthorized, Forbidden, ClientNotFound),
    summary="One registered client (no secret).",
)
async def get_client(client_id: str, _admin: Admin, session: DbSession) -> ClientOut:
    return _out(await service.get(session, client_id))


@router.patch(
    "/{client_id}",
    response_model=ClientOut,
    responses=problem_responses(Unauthorized, Forbidden, ClientNotFound, InvalidClient),
    summary="Change a client's roles, tenant, scopes, partner event types, description or "
    "rate limit; tokens it holds keep their claims until they expire.",
)
async def change_client(
    client_id: str, body: ClientChange, admin: Admin, session: DbSession
) -> ClientOut:
    row = await service.change(session, client_id, body)
    log.info("client changed by admin", extra={"client_id": client_id, "by": admin.subject})
    return _out(row)


@router.post(
    "/{client_id}/secret",
    response_model=ClientWithSecret,
    responses=problem_responses(Unauthorized, Forbidden, ClientNotFound, PepperMissing),
    summary="Rotate a client's secret: the new one is shown once; the old one works on "
    "for keep_previous_seconds.",
)
async def rotate_secret(
    client_id: str,
    body: Rotation,
    admin: Admin,
    session: DbSession,
    settings: Settings,
    response: Response,
) -> ClientWithSecret:
    row, secret = await service.rotate(
        session,
        client_id,
        keep_previous=timedelta(seconds=body.keep_previous_seconds),
        pepper=_pepper(settings),
    )
    response.headers["Cache-Control"] = "no-store"
    log.warning(
        "client secret rotated by admin", extra={"client_id": client_id, "by": admin.subject}
    )
    return _with_secret(row, secret)


@router.post(
    "/{client_id}/disable",
    response_model=ClientOut,
    responses=problem_responses(Unauthorized, Forbidden, ClientNotFound, KafkaUnavailable),
    summary="Disable a client: no new tokens, and its current tokens are revoked in every service.",
)
async def disable_client(
    client_id: str, body: Disabling, admin: Admin, session: DbSession, publisher: Publisher
) -> ClientOut:
    row = await service.disable(session, client_id, body.reason)
    # Published before the answer: a 2xx means every service will refuse its tokens.
    # Should the transaction then fail, the revocation stands and a retry disables again.
    await publisher.revoke(RevocationKind.CLIENT, client_id, body.reason)
    log.warning("client disabled by admin", extra={"client_id": client_id, "by": admin.subject})
    return _out(row)


@router.post(
    "/{client_id}/enable",
    response_model=ClientOut,
    responses=problem_responses(Unauthorized, Forbidden, ClientNotFound),
    summary="Enable a disabled client; tokens issued before it was disabled stay revoked.",
)
async def enable_client(client_id: str, admin: Admin, session: DbSession) -> ClientOut:
    row = await service.enable(session, client_id)
    log.warning("client enabled by admin", extra={"client_id": client_id, "by": admin.subject})
    return _out(row)
