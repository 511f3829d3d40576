"""Notifications and webhook subscriptions on a real PostgreSQL: the pull queue per
tenant, subscriptions per client, targets refused unless allowed, backoff and disabling
on failure."""

from __future__ import annotations

import uuid

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import Principal, Role
from customs_shared.notifications import service
from customs_shared.notifications.errors import (
    SubscriptionNotFound,
    TooManySubscriptions,
    WebhookTargetRefused,
)
from customs_shared.notifications.models import WebhookSubscription
from customs_shared.notifications.schemas import SubscriptionIn
from declaration_svc.declarations import service as declarations
from declaration_svc.declarations.schemas import DeclarationIn
from tests.support.factories import principal
from tests.support.samples import sample
from tests.support.webhooks import delivery_policy

pytestmark = pytest.mark.integration

BROKER = principal(
    Role.BROKER,
    "0312345673",
    "declarations:write",
    "declarations:read",
    subject="demo-broker",
)
OTHER = principal(
    Role.BROKER,
    "0318765434",
    "declarations:write",
    "declarations:read",
    subject="demo-broker-b",
)
Sessions = async_sessionmaker[AsyncSession]


def policy(*, allow_private: bool, max_failures: int = 3) -> service.DeliveryPolicy:
    return delivery_policy(allow_private_targets=allow_private, max_failures=max_failures)


async def declare(sessions: Sessions, who: Principal) -> uuid.UUID:
    async with sessions() as session, session.begin():
        result = await declarations.submit(
            session=session,
            principal=who,
            body=DeclarationIn.model_validate(sample("declaration-individual")),
            idempotency_key=None,
        )
    return result.declaration_id


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:9/hook",
        "https://localhost:9/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]:9/hook",
    ],
)
async def test_non_public_targets_are_refused_unless_allowed(sessions: Sessions, url: str) -> None:
    body = SubscriptionIn.model_validate({"url": url})
    async with sessions() as session, session.begin():
        with pytest.raises(WebhookTargetRefused) as refused:
            await service.subscribe(
                session=session,
                principal=BROKER,
                body=body,
                policy=policy(allow_private=False),
                area="declaration",
            )
        allowed = await service.subscribe(
            session=session,
            principal=BROKER,
            body=body,
            policy=policy(allow_private=True),
            area="declaration",
        )
    assert refused.value.status == 422
    assert allowed.secret.startswith("whsec_")


async def test_the_pull_queue_is_per_tenant_and_moves_forward(sessions: Sessions) -> None:
    mine = await declare(sessions, BROKER)
    theirs = await declare(sessions, OTHER)
    async with sessions() as session:
        page, cursor = await service.pull(
            session=session,
            principal=BROKER,
            after=None,
            limit=10,
        )
        rest, same = await service.pull(
            session=session,
            principal=BROKER,
            after=cursor,
            limit=10,
        )
    assert [(n.type, n.data["declaration_id"]) for n in page] == [
        ("declaration.submitted", str(mine))
    ]
    assert str(theirs) not in str([n.data for n in page])
    assert rest == []
    assert same == cursor


async def test_failing_deliveries_back_off_then_disable_and_nothing_is_skipped(
    sessions: Sessions,
) -> None:
    body = SubscriptionIn.model_validate({"url": "http://127.0.0.1:9/hook"})  # nothing listens
    rules = policy(allow_private=True, max_failures=2)
    async with sessions() as session, session.begin():
        subscription = (
            await service.subscribe(
                session=session, principal=BROKER, body=body, policy=rules, area="declaration"
            )
        ).subscription
    await declare(sessions, BROKER)
    async with httpx.AsyncClient(timeout=2) as http:
        for _ in range(2):
            async with sessions() as session, session.begin():
                row = await session.get(WebhookSubscription, subscription.id)
                assert row is not None
                row.next_attempt_at = row.created_at  # due now, whatever the backoff said
            assert await service.deliver_due(sessions, http=http, policy=rules) == 0
    async with sessions() as session:
        row = await session.get(WebhookSubscription, subscription.id)
    assert row is not None
    assert (row.enabled, row.consecutive_failures) == (False, 2)
    assert row.delivered_seq == subscription.delivered_seq  # still waiting for delivery
    assert row.last_error is not None
    async with sessions() as session, session.begin():
        enabled = await service.enable(
            session=session, principal=BROKER, subscription_id=subscription.id
        )
    assert (enabled.enabled, enabled.consecutive_failures) == (True, 0)


async def subscribe(session: AsyncSession, who: Principal, url: str) -> service.Subscribed:
    """A subscription of ``who`` to every declaration.* notification, loopback allowed."""
    return await service.subscribe(
        session=session,
        principal=who,
        body=SubscriptionIn.model_validate({"url": url}),
        policy=policy(allow_private=True),
        area="declaration",
    )


async def test_a_client_has_a_bounded_number_of_subscriptions(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        for n in range(service.MAX_SUBSCRIPTIONS_PER_CLIENT):
            await subscribe(session, BROKER, f"http://127.0.0.1:9/hook/{n}")
    async with sessions() as session, session.begin():
        with pytest.raises(TooManySubscriptions) as refused:
            await subscribe(session, BROKER, "http://127.0.0.1:9/one-more")
        # Another tenant's count is its own, and so is another client's of the same tenant:
        # each counts what it can see and remove.
        theirs = await subscribe(session, OTHER, "http://127.0.0.1:9/theirs")
        colleague = principal(
            Role.BROKER, BROKER.tenant, "declarations:write", subject="demo-broker-2"
        )
        colleagues = await subscribe(session, colleague, "http://127.0.0.1:9/colleague")
    assert refused.value.status == 409
    assert theirs.subscription.tenant == OTHER.tenant
    assert colleagues.subscription.tenant == BROKER.tenant
    async with sessions() as session:
        mine = await service.subscriptions(session=session, principal=BROKER)
    assert len(mine) == service.MAX_SUBSCRIPTIONS_PER_CLIENT


async def test_each_client_of_a_tenant_manages_its_own_subscriptions(sessions: Sessions) -> None:
    """Subscriptions are per client: another client of the same tenant (its back office,
    a second broker system) neither sees, removes nor re-enables them, though each is told
    of the tenant's declarations."""
    colleague = principal(
        Role.BROKER,
        BROKER.tenant,
        "declarations:write",
        "declarations:read",
        subject="demo-broker-back-office",
    )
    async with sessions() as session, session.begin():
        mine = await subscribe(session, BROKER, "http://127.0.0.1:9/mine")
        theirs = await subscribe(session, colleague, "http://127.0.0.1:9/theirs")
    mine_id, theirs_id = mine.subscription.id, theirs.subscription.id
    async with sessions() as session:
        listed = await service.subscriptions(session=session, principal=colleague)
    assert [s.id for s in listed] == [theirs_id]
    for act in (service.unsubscribe, service.enable):
        async with sessions() as session, session.begin():
            with pytest.raises(SubscriptionNotFound):
                await act(session=session, principal=colleague, subscription_id=mine_id)
    async with sessions() as session, session.begin():
        await service.unsubscribe(session=session, principal=BROKER, subscription_id=mine_id)
    async with sessions() as session:
        assert await session.get(WebhookSubscription, mine_id) is None
        assert await session.get(WebhookSubscription, theirs_id) is not None
    assert theirs.subscription.tenant == mine.subscription.tenant == BROKER.tenant


def test_event_types_are_checked_as_the_api_document_says() -> None:
    """The pattern of the OpenAPI document holds at run time too: a malformed or overlong
    type is a 422 naming the field, never a subscription that is silently never told."""
    for bad in ("declaration", "declaration.lane-assigned", "declaration." + "x" * 41, "*.*"):
        with pytest.raises(ValidationError) as refused:
            SubscriptionIn.model_validate({"url": "https://hooks.example/h", "event_types": [bad]})
        assert refused.value.errors()[0]["loc"] == ("event_types", 0)
    good = SubscriptionIn.model_validate(
        {"url": "https://hooks.example/h", "event_types": ["declaration.lane_assigned", "*"]}
    )
    assert good.event_types == ["declaration.lane_assigned", "*"]
