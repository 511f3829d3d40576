"""The notification endpoints of a service, made by :func:`notification_router`: webhook
subscriptions (``…/webhooks``) and the pull queue (``…/notifications``) under its prefix.

No ``from __future__ import annotations`` here: the endpoints' parameter types are built
from the factory's arguments, and FastAPI must see them as objects, not strings."""

import uuid
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Query, Request, status

from customs_shared.app import service_runtime
from customs_shared.auth import Principal
from customs_shared.db import DbSession
from customs_shared.notifications import service
from customs_shared.notifications.errors import (
    SubscriptionNotFound,
    TooManySubscriptions,
    UnknownEventType,
    WebhookTargetRefused,
)
from customs_shared.notifications.schemas import (
    NotificationOut,
    NotificationPage,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionOut,
)
from customs_shared.notifications.service import DeliveryPolicy
from customs_shared.problems import BadRequest, Forbidden, Unauthorized, problem_responses


class _Notifying(Protocol):
    def delivery_policy(self) -> DeliveryPolicy: ...


async def _policy(request: Request) -> DeliveryPolicy:
    settings: _Notifying = service_runtime(request).settings
    return settings.delivery_policy()


Policy = Annotated[DeliveryPolicy, Depends(_policy)]


def notification_router(
    *, prefix: str, area: str, subscriber: Any, reader: Any, who: str
) -> APIRouter:
    """``subscriber`` and ``reader`` are the endpoints' policies
    (``customs_shared.auth.allow(…)``); ``area`` the notifications' type prefix
    (``declaration``, ``ipr``); ``who`` names the audience in the summaries."""
    router = APIRouter(prefix=prefix, tags=["notifications"])
    Client = Annotated[Principal, subscriber]
    Reader = Annotated[Principal, reader]

    @router.post(
        "/webhooks",
        status_code=status.HTTP_201_CREATED,
        response_model=SubscriptionCreated,
        responses=problem_responses(
            Unauthorized, Forbidden, WebhookTargetRefused, UnknownEventType, TooManySubscriptions
        ),
        summary=f"Subscribe a URL to the {who}'s {area}.* notifications; the signing secret "
        "is shown once.",
    )
    async def subscribe(
        body: SubscriptionIn, principal: Client, session: DbSession, policy: Policy
    ) -> SubscriptionCreated:
        created = await service.subscribe(
            session=session, principal=principal, body=body, policy=policy, area=area
        )
        shown = SubscriptionOut.model_validate(created.subscription).model_dump()
        return SubscriptionCreated.model_validate({**shown, "secret": created.secret})

    @router.get(
        "/webhooks",
        response_model=list[SubscriptionOut],
        responses=problem_responses(Unauthorized, Forbidden),
        summary=f"The {who}'s webhook subscriptions (without their secrets).",
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
    async def unsubscribe(
        subscription_id: uuid.UUID, principal: Client, session: DbSession
    ) -> None:
        await service.unsubscribe(
            session=session, principal=principal, subscription_id=subscription_id
        )

    @router.post(
        "/webhooks/{subscription_id}/enable",
        response_model=SubscriptionOut,
        responses=problem_responses(Unauthorized, Forbidden, SubscriptionNotFound),
        summary="Enable a subscription disabled after failed deliveries; it resumes where it "
        "stopped.",
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
        summary=f"The {who}'s notifications after a cursor, oldest first: the webhooks' "
        "events, for clients without a public URL.",
    )
    async def pull(
        principal: Reader,
        session: DbSession,
        after: Annotated[str | None, Query(max_length=40)] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
    ) -> NotificationPage:
        rows, cursor = await service.pull(
            session=session, principal=principal, after=after, limit=limit
        )
        return NotificationPage(
            items=[NotificationOut.model_validate(r) for r in rows], next_cursor=cursor
        )

    return router
