"""Webhook delivery on a real PostgreSQL: subscriptions are claimed in one short
transaction and sent to outside any, so two deliverers never send the same notification,
a slow target holds up only its own subscription, and no row stays locked while sending.
Signing secrets are stored sealed and survive a key rotation."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from customs_shared.auth import Role
from customs_shared.db import utcnow
from customs_shared.notifications import service
from customs_shared.notifications.models import Notification, WebhookSubscription
from customs_shared.notifications.schemas import SubscriptionIn
from customs_shared.notifications.sealing import SecretSealer
from tests.support.factories import principal
from tests.support.webhooks import Receiver, delivery_policy

pytestmark = pytest.mark.integration

Sessions = async_sessionmaker[AsyncSession]
OLD_KEY, NEW_KEY = "o" * 32, "n" * 32


def policy(sealer: SecretSealer | None = None) -> service.DeliveryPolicy:
    return delivery_policy(sealer=sealer or SecretSealer(NEW_KEY), lease=timedelta(seconds=30))


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    made: list[Receiver] = []
    yield made
    for receiver in made:
        receiver.close()


async def subscribe(
    sessions: Sessions, tenant: str, url: str, rules: service.DeliveryPolicy
) -> service.Subscribed:
    who = principal(Role.BROKER, tenant, "declarations:write", subject=f"client-{tenant}")
    async with sessions() as session, session.begin():
        return await service.subscribe(
            session=session,
            principal=who,
            body=SubscriptionIn.model_validate({"url": url}),
            policy=rules,
            area="declaration",
        )


async def queue(sessions: Sessions, tenant: str, count: int) -> list[str]:
    """``count`` notifications for ``tenant``, one transaction each; their ids in order."""
    ids = []
    for n in range(count):
        async with sessions() as session, session.begin():
            service.notify(session, tenant=tenant, type="declaration.submitted", data={"n": n})
        async with sessions() as session:
            last = (
                await session.scalars(select(Notification.id).order_by(Notification.seq.desc()))
            ).first()
        ids.append(str(last))
    return ids


async def test_two_deliverers_at_once_send_each_notification_once_in_order(
    sessions: Sessions, receivers: list[Receiver]
) -> None:
    receiver = Receiver(delay=0.05)
    receivers.append(receiver)
    tenant = "0312345673"
    rules = policy()
    await subscribe(sessions, tenant, receiver.url, rules)
    expected = await queue(sessions, tenant, 6)
    async with httpx.AsyncClient() as one, httpx.AsyncClient() as other:
        counts = await asyncio.gather(
            service.deliver_due(sessions, http=one, policy=rules),
            service.deliver_due(sessions, http=other, policy=rules),
        )
        # Further passes find nothing left to send.
        again = await service.deliver_due(sessions, http=one, policy=rules)
    assert sorted(counts) == [0, 6]
    assert again == 0
    assert receiver.ids() == expected


async def test_a_slow_target_holds_up_only_its_own_subscription_and_locks_no_row(
    sessions: Sessions, receivers: list[Receiver]
) -> None:
    gate = threading.Event()
    slow, fast = Receiver(gate=gate), Receiver()
    receivers += [slow, fast]
    tenant = "0318765434"
    rules = policy()
    held = (await subscribe(sessions, tenant, slow.url, rules)).subscription
    await subscribe(sessions, tenant, fast.url, rules)
    expected = await queue(sessions, tenant, 3)
    async with httpx.AsyncClient() as http:
        first = asyncio.create_task(service.deliver_due(sessions, http=http, policy=rules))
        try:
            for _ in range(100):  # bounded: 5 s at most
                if len(fast.received) == 3:
                    break
                await asyncio.sleep(0.05)
            assert fast.ids() == expected
            assert slow.received == []
            # The slow subscription's row is not locked while its target is called, and
            # it is leased: a second deliverer leaves it alone.
            async with sessions() as session, session.begin():
                row = (
                    await session.scalars(
                        select(WebhookSubscription)
                        .where(WebhookSubscription.id == held.id)
                        .with_for_update(nowait=True)
                    )
                ).one()
                assert row.next_attempt_at > utcnow() + timedelta(seconds=20)
            assert await service.deliver_due(sessions, http=http, policy=rules) == 0
        finally:
            gate.set()
        assert await first == 6
    assert slow.ids() == expected
    assert fast.ids() == expected
    async with sessions() as session:
        row = await session.get(WebhookSubscription, held.id)
    assert row is not None
    assert row.next_attempt_at <= utcnow()  # lease given back: due again for what follows
    assert row.consecutive_failures == 0


async def test_secrets_are_stored_sealed_and_resealed_after_a_key_rotation(
    sessions: Sessions, receivers: list[Receiver]
) -> None:
    receiver = Receiver()
    receivers.append(receiver)
    tenant = "0301987654"
    old = policy(SecretSealer(OLD_KEY))
    created = await subscribe(sessions, tenant, receiver.url, old)
    rotated = policy(SecretSealer(NEW_KEY, [OLD_KEY]))
    async with sessions() as session:
        stored = await session.get(WebhookSubscription, created.subscription.id)
    assert stored is not None
    assert created.secret not in stored.secret
    assert stored.secret.startswith(old.sealer.current_prefix)

    await queue(sessions, tenant, 1)
    async with httpx.AsyncClient() as http:
        assert await service.deliver_due(sessions, http=http, policy=rotated) == 1
        async with sessions() as session, session.begin():
            assert await service.reseal_secrets(session, rotated) >= 1
        async with sessions() as session:
            resealed = await session.get(WebhookSubscription, created.subscription.id)
        assert resealed is not None
        assert resealed.secret.startswith(rotated.sealer.current_prefix)
        # The previous key can now leave the settings.
        await queue(sessions, tenant, 1)
        new_only = policy(SecretSealer(NEW_KEY))
        assert await service.deliver_due(sessions, http=http, policy=new_only) == 1
    verifier = Webhook(created.secret)
    assert len(receiver.received) == 2
    for headers, body in receiver.received:
        verifier.verify(body, headers)  # raises on a bad signature


async def test_a_secret_stored_in_clear_is_delivered_with_and_then_sealed(
    sessions: Sessions, receivers: list[Receiver]
) -> None:
    receiver = Receiver()
    receivers.append(receiver)
    tenant = "0100109106"
    rules = policy()
    created = await subscribe(sessions, tenant, receiver.url, rules)
    async with sessions() as session, session.begin():
        row = await session.get(WebhookSubscription, created.subscription.id)
        assert row is not None
        row.secret = created.secret  # as rows were kept before sealing
    await queue(sessions, tenant, 1)
    async with httpx.AsyncClient() as http:
        assert await service.deliver_due(sessions, http=http, policy=rules) == 1
    async with sessions() as session, session.begin():
        assert await service.reseal_secrets(session, rules) == 1
    async with sessions() as session:
        row = await session.get(WebhookSubscription, created.subscription.id)
    assert row is not None
    assert row.secret.startswith(rules.sealer.current_prefix)
    Webhook(created.secret).verify(receiver.received[0][1], receiver.received[0][0])


async def test_an_unreadable_secret_fails_the_delivery_and_says_why(sessions: Sessions) -> None:
    """Sealed with a key the deliverer does not have: an error on the subscription."""
    rules = policy(SecretSealer(OLD_KEY))
    created = await subscribe(sessions, "0104567890", "http://127.0.0.1:9/x", rules)
    await queue(sessions, "0104567890", 1)
    async with httpx.AsyncClient() as http:
        sent = await service.deliver_due(sessions, http=http, policy=policy())
    async with sessions() as session:
        row = await session.get(WebhookSubscription, created.subscription.id)
    assert sent == 0
    assert row is not None
    assert row.consecutive_failures == 1
    assert "unreadable" in (row.last_error or "")
    async with sessions() as session, session.begin():
        assert await service.reseal_secrets(session, policy()) == 0  # not picked again


async def test_an_idle_subscription_is_not_claimed(
    sessions: Sessions, receivers: list[Receiver]
) -> None:
    receiver = Receiver()
    receivers.append(receiver)
    rules = policy()
    created = await subscribe(sessions, "0305555555", receiver.url, rules)
    async with sessions() as session:
        before = await session.get(WebhookSubscription, created.subscription.id)
    async with httpx.AsyncClient() as http:
        assert await service.deliver_due(sessions, http=http, policy=rules) == 0
    async with sessions() as session:
        after = await session.get(WebhookSubscription, created.subscription.id)
    assert before is not None
    assert after is not None
    assert after.next_attempt_at == before.next_attempt_at  # no lease taken
    assert receiver.received == []


async def test_a_target_that_does_not_answer_in_time_is_a_failure_within_the_lease(
    sessions: Sessions, receivers: list[Receiver]
) -> None:
    gate = threading.Event()
    silent = Receiver(gate=gate)
    receivers.append(silent)
    rules = dataclasses.replace(
        policy(), send_timeout=timedelta(seconds=0.3), lease=timedelta(seconds=5)
    )
    created = await subscribe(sessions, "0306666666", silent.url, rules)
    await queue(sessions, "0306666666", 2)
    started = utcnow()
    try:
        async with httpx.AsyncClient() as http:
            assert await service.deliver_due(sessions, http=http, policy=rules) == 0
    finally:
        gate.set()
    assert utcnow() - started < timedelta(seconds=3)
    async with sessions() as session:
        row = await session.get(WebhookSubscription, created.subscription.id)
    assert row is not None
    assert row.consecutive_failures == 1
    assert row.last_error == "no answer within 0.3 s"
    assert row.delivered_seq == created.subscription.delivered_seq  # nothing skipped


async def test_a_target_that_became_private_is_not_called_at_delivery(
    sessions: Sessions, receivers: list[Receiver]
) -> None:
    # Subscribed while private targets were allowed (or when its name resolved to a
    # public address): each delivery checks the target again, before connecting.
    receiver = Receiver()
    receivers.append(receiver)
    tenant = "0312345673"
    subscribed = await subscribe(sessions, tenant, receiver.url, policy())
    await queue(sessions, tenant, 2)
    strict = dataclasses.replace(policy(), allow_private_targets=False)
    async with httpx.AsyncClient() as http:
        sent = await service.deliver_due(sessions, http=http, policy=strict)
    assert sent == 0
    assert receiver.received == []
    async with sessions() as session:
        row = await session.get(WebhookSubscription, subscribed.subscription.id)
    assert row is not None
    assert row.consecutive_failures == 1
    assert "WebhookTargetRefused" in (row.last_error or "")
