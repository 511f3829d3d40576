"""The notification queue on SQLite, which runs one writer at a time: every row is final
at its commit and seq order is commit order, so the (xid, seq) cursor works with an xid of
0 throughout, and a subscription starts after the last row."""

from __future__ import annotations

from pathlib import Path

from customs_shared.auth import Role
from customs_shared.db import create_engine, run_migrations, utcnow
from customs_shared.messaging.outbox import OutboxSignal, session_factory
from customs_shared.notifications import service
from customs_shared.notifications.repository import (
    NotificationRepository,
    Position,
    SubscriptionRepository,
)
from customs_shared.notifications.schemas import SubscriptionIn
from tests.support.factories import principal
from tests.support.webhooks import delivery_policy

TENANT = "0312345673"
BROKER = principal(Role.BROKER, TENANT, "declarations:write", "declarations:read")
POLICY = delivery_policy()


async def test_on_sqlite_each_row_is_final_and_a_subscription_starts_after_the_last(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'declarations.db'}", pool_size=1)
    try:
        await run_migrations(engine, "declaration_svc:migrations")
        sessions = session_factory(engine, OutboxSignal())

        async def notify(n: int) -> None:
            async with sessions() as session, session.begin():
                service.notify(session, tenant=TENANT, type="declaration.submitted", data={"n": n})

        await notify(0)
        await notify(1)
        async with sessions() as session, session.begin():
            body = SubscriptionIn.model_validate({"url": "http://127.0.0.1:9/hook"})
            await service.subscribe(
                session=session, principal=BROKER, body=body, policy=POLICY, area="declaration"
            )
        await notify(2)
        async with sessions() as session:
            first, cursor = await service.pull(
                session=session, principal=BROKER, after=None, limit=2
            )
            rest, _ = await service.pull(session=session, principal=BROKER, after=cursor, limit=2)
            (due,) = await SubscriptionRepository(session).due(utcnow(), 10)
            pushed = await NotificationRepository(session).after(
                TENANT, Position(due.delivered_xid, due.delivered_seq), 10
            )
    finally:
        await engine.dispose()

    assert [n.data["n"] for n in [*first, *rest]] == [0, 1, 2]
    assert {n.xid for n in [*first, *rest]} == {0}
    assert [n.data["n"] for n in pushed] == [2]  # what came after the subscription
