"""Queueing, subscribing, pulling and delivering notifications (see the package's doc)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from customs_shared.auth import Principal, tenant_scope
from customs_shared.db import insert_values_at_commit, utcnow
from customs_shared.notifications.errors import (
    SubscriptionNotFound,
    TooManySubscriptions,
    UnknownEventType,
    WebhookTargetRefused,
)
from customs_shared.notifications.models import Notification, WebhookSubscription
from customs_shared.notifications.repository import (
    NotificationRepository,
    Position,
    SubscriptionRepository,
)
from customs_shared.notifications.schemas import SubscriptionIn
from customs_shared.notifications.sealing import SecretSealer, SecretUnreadable
from customs_shared.notifications.targets import Connection, check_url
from customs_shared.problems import BadRequest

log = logging.getLogger(__name__)

MAX_SUBSCRIPTIONS_PER_CLIENT = 20


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    allow_private_targets: bool
    retry_base: timedelta
    retry_cap: timedelta
    max_failures: int
    sealer: SecretSealer  # seals the signing secrets at rest
    # A deliverer claims a subscription for this long; sends stop in time to record the
    # outcome before it ends, so no two deliverers ever hold one subscription.
    lease: timedelta = timedelta(seconds=60)
    send_timeout: timedelta = timedelta(seconds=10)
    batch: int = 20
    claim: int = 50  # subscriptions claimed per pass
    concurrency: int = 8  # subscriptions sent to at once


def notify(
    session: AsyncSession,
    *,
    tenant: str,
    type: str,
    data: dict[str, Any],
) -> None:
    """Queues one notification of ``type`` ("<area>.<event>") for ``tenant``, in the
    transaction of the change it reports."""
    insert_values_at_commit(
        session, Notification, [{"id": uuid.uuid4(), "tenant": tenant, "type": type, "data": data}]
    )


async def _target(url: str, policy: DeliveryPolicy) -> Connection:
    return await check_url(url, allow_private=policy.allow_private_targets)


@dataclass(frozen=True, slots=True)
class Subscribed:
    subscription: WebhookSubscription
    secret: str  # in clear: shown to the client once, stored sealed


async def subscribe(
    *,
    session: AsyncSession,
    principal: Principal,
    body: SubscriptionIn,
    policy: DeliveryPolicy,
    area: str,
) -> Subscribed:
    """Subscribes to the notifications of ``area`` (``declaration``, ``ipr``) the body names."""
    foreign = sorted(t for t in body.event_types if t != "*" and not t.startswith(f"{area}."))
    if foreign:
        raise UnknownEventType(
            f"This service sends {area}.* notifications only; not {', '.join(foreign)}."
        )
    await _target(str(body.url), policy)
    # Each subscription is delivery work on every change of the tenant's: a bounded few per
    # client, counted where they are managed (a client sees and removes only its own).
    repository = SubscriptionRepository(session)
    if (
        await repository.count_of_client(principal.tenant, principal.subject)
        >= MAX_SUBSCRIPTIONS_PER_CLIENT
    ):
        raise TooManySubscriptions(
            f"At most {MAX_SUBSCRIPTIONS_PER_CLIENT} webhook subscriptions; remove one first.",
            max_subscriptions=MAX_SUBSCRIPTIONS_PER_CLIENT,
        )
    subscription_id = uuid.uuid4()
    # From now on: what happened before the subscription is in the pull queue; what is
    # not final yet (it may commit after this) is delivered.
    start = await NotificationRepository(session).start()
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    subscription = WebhookSubscription(
        id=subscription_id,
        tenant=principal.tenant,
        client_id=principal.subject,
        url=str(body.url),
        event_types=sorted(set(body.event_types)),
        secret=policy.sealer.seal(subscription_id, secret),
        enabled=True,
        delivered_xid=start.xid,
        delivered_seq=start.seq,
        consecutive_failures=0,
        next_attempt_at=utcnow(),
        created_at=utcnow(),
    )
    repository.add(subscription)
    return Subscribed(subscription, secret)


async def subscriptions(
    *, session: AsyncSession, principal: Principal
) -> Sequence[WebhookSubscription]:
    """The caller's own subscriptions: each client of a tenant (a broker's software, its
    back office) manages its own, though all are told of the tenant's declarations."""
    return await SubscriptionRepository(session).of_client(principal.tenant, principal.subject)


async def _owned(
    session: AsyncSession, principal: Principal, subscription_id: uuid.UUID
) -> WebhookSubscription:
    found = await SubscriptionRepository(session).owned(
        principal.tenant, principal.subject, subscription_id
    )
    if found is None:
        raise SubscriptionNotFound(f"No webhook subscription {subscription_id}.")
    return found


async def unsubscribe(
    *, session: AsyncSession, principal: Principal, subscription_id: uuid.UUID
) -> None:
    await session.delete(await _owned(session, principal, subscription_id))


async def enable(
    *, session: AsyncSession, principal: Principal, subscription_id: uuid.UUID
) -> WebhookSubscription:
    """Re-enables a subscription; it resumes where delivery stopped."""
    subscription = await _owned(session, principal, subscription_id)
    subscription.enabled = True
    subscription.consecutive_failures = 0
    subscription.next_attempt_at = utcnow()
    return subscription


_CURSOR_HINT = "`after` is the next_cursor of a previous page."
_MAX_POSITION = 2**63 - 1  # both parts are bigint columns


def _number(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or int(raw) > _MAX_POSITION:
        raise BadRequest(_CURSOR_HINT)
    return int(raw)


def parse_cursor(raw: str | None) -> Position:
    """``<xid>-<seq>``; a bare ``<seq>`` (the cursors handed out before transaction ids
    were kept) is that seq among the rows written before, whose xid is 0."""
    if raw is None:
        return Position(0, 0)
    xid, dash, seq = raw.rpartition("-")
    return Position(_number(xid) if dash else 0, _number(seq))


def format_cursor(position: Position) -> str:
    return f"{position.xid}-{position.seq}"


async def pull(
    *,
    session: AsyncSession,
    principal: Principal,
    after: str | None,
    limit: int,
) -> tuple[Sequence[Notification], str | None]:
    position = parse_cursor(after)
    rows = await NotificationRepository(session).after(tenant_scope(principal), position, limit)
    # The cursor only ever moves forward; an empty page keeps the caller where it was.
    return rows, format_cursor(Position.of(rows[-1]) if rows else position)


@dataclass(frozen=True, slots=True)
class _Claim:
    """A subscription as claimed: what sending needs, read before the claim commits."""

    id: uuid.UUID
    tenant: str
    url: str
    event_types: frozenset[str]
    secret: str  # opened
    delivered: Position
    lease_until: datetime


@dataclass(frozen=True, slots=True)
class _Outcome:
    position: Position
    delivered: int
    error: str | None


def _wanted(claim: _Claim, notification: Notification) -> bool:
    return "*" in claim.event_types or notification.type in claim.event_types


async def _send(
    http: httpx.AsyncClient, claim: _Claim, notification: Notification, policy: DeliveryPolicy
) -> str | None:
    """None when delivered; otherwise what went wrong."""
    now = utcnow()
    body = json.dumps(
        {"type": notification.type, "timestamp": now.isoformat(), "data": notification.data}
    )
    message_id = str(notification.id)  # the same on every retry: receivers drop repeats
    headers = {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(claim.secret).sign(message_id, now, body),
    }
    try:
        # The name lookup too: a send never outlasts the time the lease allows it.
        async with asyncio.timeout(policy.send_timeout.total_seconds()):
            # Again: a name may resolve elsewhere now; then to the address just checked.
            target = await _target(claim.url, policy)
            response = await http.post(
                target.url,
                content=body,
                headers={**headers, **target.headers},
                extensions=target.extensions,
            )
    except TimeoutError:
        return f"no answer within {policy.send_timeout.total_seconds():g} s"
    except (httpx.HTTPError, WebhookTargetRefused) as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}"


async def _claim(
    sessions: async_sessionmaker[AsyncSession], policy: DeliveryPolicy
) -> list[_Claim]:
    """The short first transaction: due subscriptions are leased (their next attempt moved
    past the lease), so no other deliverer takes them until this one is done or gone."""
    claims: list[_Claim] = []
    async with sessions() as session, session.begin():
        now = utcnow()
        lease_until = now + policy.lease
        due = await SubscriptionRepository(session).due(now, policy.claim)
        for row in due:
            try:
                secret = policy.sealer.open(row.id, row.secret)
            except SecretUnreadable as exc:
                _fail(row, f"signing secret unreadable: {exc}", policy)
                continue
            row.next_attempt_at = lease_until
            claims.append(
                _Claim(
                    id=row.id,
                    tenant=row.tenant,
                    url=row.url,
                    event_types=frozenset(row.event_types),
                    secret=secret,
                    delivered=Position(row.delivered_xid, row.delivered_seq),
                    lease_until=lease_until,
                )
            )
    return claims


async def _send_in_order(
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    claim: _Claim,
    policy: DeliveryPolicy,
) -> _Outcome:
    """Outside any transaction: the claim's next notifications, in order, until one fails
    or too little of the lease is left to send another."""
    async with sessions() as session:
        pending = await NotificationRepository(session).after(
            claim.tenant, claim.delivered, policy.batch
        )
    position, delivered = claim.delivered, 0
    for notification in pending:
        if _wanted(claim, notification):
            if utcnow() + policy.send_timeout >= claim.lease_until:
                break  # the rest waits for the next claim
            error = await _send(http, claim, notification, policy)
            if error is not None:
                return _Outcome(position, delivered, error)
            delivered += 1
        position = Position.of(notification)  # skipped when not subscribed to
    return _Outcome(position, delivered, None)


def retry_delay(failures: int, policy: DeliveryPolicy) -> timedelta:
    """The wait after ``failures`` failures in a row: exponential from ``retry_base``,
    capped at ``retry_cap``, drawn in its upper half, so that the retries of many
    subscribers do not march in step (jitter) while none comes much early."""
    delay: timedelta = min(policy.retry_cap, policy.retry_base * (2 ** min(failures - 1, 30)))
    return delay * random.uniform(0.5, 1.0)  # noqa: S311


def _fail(subscription: WebhookSubscription, error: str, policy: DeliveryPolicy) -> None:
    subscription.consecutive_failures += 1
    subscription.last_error = error
    subscription.next_attempt_at = utcnow() + retry_delay(subscription.consecutive_failures, policy)
    if subscription.consecutive_failures >= policy.max_failures:
        subscription.enabled = False
        log.warning(
            "webhook subscription disabled",
            extra={"subscription": str(subscription.id), "error": error},
        )


async def _record(
    sessions: async_sessionmaker[AsyncSession],
    claim: _Claim,
    outcome: _Outcome,
    policy: DeliveryPolicy,
) -> None:
    """The short second transaction. The lease is the fence: a row whose next attempt is no
    longer this claim's lease end was taken over (the lease ran out), re-enabled or deleted
    meanwhile, and keeps what it has (its notifications go again, with the same
    webhook-id)."""
    async with sessions() as session, session.begin():
        row = await SubscriptionRepository(session).leased(claim.id, claim.lease_until)
        if row is None:
            log.warning("webhook lease lost", extra={"subscription": str(claim.id)})
            return
        if outcome.position > (row.delivered_xid, row.delivered_seq):
            row.delivered_xid, row.delivered_seq = outcome.position
        if outcome.delivered:
            row.consecutive_failures = 0
            row.last_error = None
        if outcome.error is None:
            row.next_attempt_at = utcnow()  # due again: more may be waiting
        else:
            _fail(row, outcome.error, policy)


async def _deliver_claim(
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    claim: _Claim,
    policy: DeliveryPolicy,
    slots: asyncio.Semaphore,
) -> int:
    async with slots:
        outcome = await _send_in_order(sessions, http, claim, policy)
        await _record(sessions, claim, outcome, policy)
    return outcome.delivered


async def deliver_due(
    sessions: async_sessionmaker[AsyncSession],
    *,
    http: httpx.AsyncClient,
    policy: DeliveryPolicy,
) -> int:
    """One pass: claim the due subscriptions (one short transaction), send each its next
    notifications in order outside any transaction, a slow target holding up only its own
    subscription, then record each outcome (one short transaction each). Returns how many
    notifications were delivered."""
    claims = await _claim(sessions, policy)
    slots = asyncio.Semaphore(policy.concurrency)
    counts = await asyncio.gather(
        *(_deliver_claim(sessions, http, claim, policy, slots) for claim in claims)
    )
    return sum(counts)


async def reseal_secrets(session: AsyncSession, policy: DeliveryPolicy, limit: int = 100) -> int:
    """Seals with the current key the secrets sealed with a previous one (after a rotation)
    or kept in clear (from before sealing); returns how many. A secret no configured key
    opens is not picked (its deliveries fail and say so)."""
    sealer = policy.sealer
    resealed = 0
    stale = await SubscriptionRepository(session).secrets_starting(sealer.stale_prefixes, limit)
    for row in stale:
        try:
            row.secret = sealer.seal(row.id, sealer.open(row.id, row.secret))
        except SecretUnreadable:
            log.warning("webhook secret unreadable", extra={"subscription": str(row.id)})
            continue
        resealed += 1
    return resealed
