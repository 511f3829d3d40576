from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from customs_shared.app import service_runtime
from customs_shared.auth import TRADERS, TRADERS_AND_CUSTOMS, Principal, Scope, allow
from customs_shared.db import DbSession
from customs_shared.problems import BadRequest, Forbidden, Unauthorized, problem_responses
from declaration_svc.settings import DeclarationSettings
from declaration_svc.webhooks import service
from declaration_svc.webhooks.errors import SubscriptionNotFound, WebhookTargetRefused
from declaration_svc.webhooks.schemas import (
    NotificationOut,
    NotificationPage,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionOut,
)
from declaration_svc.webhooks.service import DeliveryPolicy

router = APIRouter(prefix="/api/v1/declarations", tags=["notifications"])

Client = Annotated[Principal, allow(Scope.DECLARATIONS_WRITE, TRADERS)]
Reader = Annotated[Principal, allow(Scope.DECLARATIONS_READ, TRADERS_AND_CUSTOMS)]


def _policy(request: Request) -> DeliveryPolicy:
    settings: DeclarationSettings = service_runtime(request).settings
    return settings.delivery_policy()


Policy = Annotated[DeliveryPolicy, Depends(_policy)]


@router.post(
    "/webhooks",
    status_code=status.HTTP_201_CREATED,
    response_model=SubscriptionCreated,
    responses=problem_responses(Unauthorized, Forbidden, WebhookTargetRefused),
    summary="Subscribe a URL to the tenant's notifications; the signing secret is shown once.",
)
async def subscribe(
    body: SubscriptionIn, principal: Client, session: DbSession, policy: Policy
) -> SubscriptionCreated:
    subscription = await service.subscribe(
        session=session, principal=principal, body=body, policy=policy
    )
    return SubscriptionCreated.model_validate(subscription)


@router.get(
    "/webhooks",
    response_model=list[SubscriptionOut],
    responses=problem_responses(Unauthorized, Forbidden),
    summary="The tenant's webhook subscriptions (without their secrets).",
)
async def list_subscriptions(principal: Client, session: DbSession) -> list[SubscriptionOut]:
    rows = await service.subscriptions(session=session, principal=principal)
    return [SubscriptionOut.model_validate(r) for r in rows]


@router.delete(
    "/webhooks/{subscription_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(Unauthorized, Forbidden, SubscriptionNotFound),
    summary="Remove a webhook subscription.",
)
async def unsubscribe(subscription_id: uuid.UUID, principal: Client, session: DbSession) -> None:
    await service.unsubscribe(session=session, principal=principal, subscription_id=subscription_id)


@router.post(
    "/webhooks/{subscription_id}/enable",
    response_model=SubscriptionOut,
    responses=problem_responses(Unauthorized, Forbidden, SubscriptionNotFound),
    summary="Enable a subscription disabled after failed deliveries; it resumes where it stopped.",
)
async def enable(
    subscription_id: uuid.UUID, principal: Client, session: DbSession
) -> SubscriptionOut:
    subscription = await service.enable(
        session=session, principal=principal, subscription_id=subscription_id
    )
    return SubscriptionOut.model_validate(subscription)


@router.get(
    "/notifications",
    response_model=NotificationPage,
    responses=problem_responses(Unauthorized, Forbidden, BadRequest),
    summary="The tenant's notifications after a cursor, oldest first: the webhooks' events, "
    "for clients without a public URL.",
)
async def pull(
    principal: Reader,
    session: DbSession,
    policy: Policy,
    after: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> NotificationPage:
    rows, cursor = await service.pull(
        session=session, principal=principal, after=after, limit=limit, policy=policy
    )
    return NotificationPage(
        items=[NotificationOut.model_validate(r) for r in rows], next_cursor=cursor
    )
