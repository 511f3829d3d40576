"""Suspension on a hit, on a real PostgreSQL: the deadline in working days over a weekend
and Vietnam's National Day, one extension, the holder's answer, release on no answer;
the holder told of each step through the one notification mechanism (pulled, and pushed
signed per Standard Webhooks)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from customs_shared.auth import Role
from customs_shared.messaging.models import OutboxEvent
from customs_shared.notifications import service as notifications
from customs_shared.notifications.errors import UnknownEventType
from customs_shared.notifications.schemas import SubscriptionIn
from ipr_svc.records import service as records
from ipr_svc.screening import service as screening
from ipr_svc.suspension import service
from ipr_svc.suspension.errors import HitNotFound, SuspensionClosed, SuspensionNotFound
from tests.support.factories import declaration_submitted, item_facts, principal
from tests.support.ipr_index import index_from_table
from tests.support.ports import free_port
from tests.support.webhooks import delivery_policy

pytestmark = pytest.mark.integration

HOLDER = principal(Role.RIGHT_HOLDER, "0100109106", "ipr:read", "ipr:write", subject="holder")
OTHER_HOLDER = principal(Role.RIGHT_HOLDER, "0104567890", "ipr:read", "ipr:write", subject="other")
OFFICER = principal(Role.OFFICER, "customs", "ipr:read", "ipr:review", subject="officer")
FRIDAY_BEFORE_NATIONAL_DAY = date(2026, 8, 28)
Sessions = async_sessionmaker[AsyncSession]


async def hit(sessions: Sessions) -> tuple[uuid.UUID, str]:
    row: dict[str, Any] = {
        "registration_number": "VN-4-0123456",
        "right_type": "trademark",
        "owner": "Nike Innovate C.V.",
        "brands": ["Nike"],
        "hs_headings": ["6404"],
        "valid_from": "2020-01-01",
        "valid_until": "2035-01-01",
        "holder_tax_code": HOLDER.tenant,
    }
    async with sessions() as session, session.begin():
        report = await records.import_records(session, [row])
    data = declaration_submitted(items=[item_facts(brand="N1KE", hs_code="64041100")])
    index = await index_from_table(sessions)
    async with sessions() as session, session.begin():
        await screening.screen_declaration(session, data, index)
    record_id = report.rows[0].record_id
    assert record_id is not None
    return data.declaration_id, record_id


async def suspend(sessions: Sessions, declaration_id: uuid.UUID, record_id: str) -> uuid.UUID:
    async with sessions() as session, session.begin():
        suspension = await service.suspend(
            session=session,
            principal=OFFICER,
            declaration_id=declaration_id,
            record_id=record_id,
            item_line=1,
            reason="counterfeit Nike shoes",
            today=FRIDAY_BEFORE_NATIONAL_DAY,
        )
    assert suspension.deadline == date(2026, 9, 16)  # weekends, 31 Aug, 1-2 Sept skipped
    return suspension.id


async def test_suspend_extend_once_and_the_holder_confirms(sessions: Sessions) -> None:
    declaration_id, record_id = await hit(sessions)
    with pytest.raises(HitNotFound):
        async with sessions() as session, session.begin():
            await service.suspend(
                session=session,
                principal=OFFICER,
                declaration_id=declaration_id,
                record_id=record_id,
                item_line=2,
                reason="no such line",
            )
    suspension_id = await suspend(sessions, declaration_id, record_id)
    async with sessions() as session, session.begin():
        extended = await service.extend(
            session=session, principal=OFFICER, suspension_id=suspension_id
        )
    assert extended.deadline == date(2026, 9, 30)
    with pytest.raises(SuspensionClosed):
        async with sessions() as session, session.begin():
            await service.extend(session=session, principal=OFFICER, suspension_id=suspension_id)
    async with sessions() as session:
        assert not (await service.listing(session=session, principal=OTHER_HOLDER, limit=50)).items
        [own] = (await service.listing(session=session, principal=HOLDER, limit=50)).items
    assert own.id == suspension_id
    with pytest.raises(SuspensionNotFound):
        async with sessions() as session, session.begin():
            await service.answer(
                session=session, principal=OTHER_HOLDER, suspension_id=suspension_id, confirm=True
            )
    async with sessions() as session, session.begin():
        answered = await service.answer(
            session=session, principal=HOLDER, suspension_id=suspension_id, confirm=True
        )
    assert answered.status == "confirmed"


async def test_no_answer_by_the_deadline_releases(sessions: Sessions) -> None:
    declaration_id, record_id = await hit(sessions)
    suspension_id = await suspend(sessions, declaration_id, record_id)
    async with sessions() as session, session.begin():
        released = await service.release_lapsed(session, None, date(2026, 9, 16))  # type: ignore[arg-type]
    assert released == 0  # the deadline day itself is still the holder's
    async with sessions() as session, session.begin():
        released = await service.release_lapsed(session, None, date(2026, 9, 17))  # type: ignore[arg-type]
    assert released == 1
    async with sessions() as session:
        payloads = (await session.scalars(select(OutboxEvent.payload))).all()
    steps = [
        json.loads(p)["data"]
        for p in payloads
        if json.loads(p)["type"] == "customs.ipr.suspension-changed.v1"
    ]
    assert [(s["suspension_id"], s["status"]) for s in steps] == [
        (str(suspension_id), "suspended"),
        (str(suspension_id), "released"),
    ]


async def test_a_holder_sees_the_hits_on_its_own_rights_only(sessions: Sessions) -> None:
    declaration_id, record_id = await hit(sessions)
    async with sessions() as session:
        [own] = (await screening.hits(session=session, principal=HOLDER, limit=50)).items
        others = (await screening.hits(session=session, principal=OTHER_HOLDER, limit=50)).items
        every = (await screening.hits(session=session, principal=OFFICER, limit=50)).items
    assert (own.declaration_id, own.record_id, own.text, own.why) == (
        declaration_id,
        record_id,
        "N1KE",
        "alias",
    )
    assert not others
    assert [h.id for h in every] == [own.id]


async def test_a_holder_sees_its_own_records_only(sessions: Sessions) -> None:
    _, record_id = await hit(sessions)
    async with sessions() as session:
        own = (await records.listing(session=session, principal=HOLDER, limit=50)).items
        others = (await records.listing(session=session, principal=OTHER_HOLDER, limit=50)).items
    assert ([str(r.id) for r in own], list(others)) == ([record_id], [])


POLICY = delivery_policy(max_failures=3)


@pytest.fixture
def receiver() -> Iterator[tuple[int, list[tuple[dict[str, str], bytes]]]]:
    """A holder's endpoint on a free port: records the headers and body of each POST."""
    received: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            return

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield port, received
    finally:
        server.shutdown()
        server.server_close()


async def test_a_holder_gets_each_step_of_a_suspension_pulled_and_pushed_signed(
    sessions: Sessions, receiver: tuple[int, list[tuple[dict[str, str], bytes]]]
) -> None:
    port, received = receiver
    body = SubscriptionIn.model_validate(
        {
            "url": f"http://127.0.0.1:{port}/ipr",
            "event_types": ["ipr.suspension_opened", "ipr.suspension_extended"],
        }
    )
    async with sessions() as session, session.begin():
        created = await notifications.subscribe(
            session=session, principal=HOLDER, body=body, policy=POLICY, area="ipr"
        )
    declaration_id, record_id = await hit(sessions)
    suspension_id = await suspend(sessions, declaration_id, record_id)
    async with sessions() as session, session.begin():
        await service.extend(session=session, principal=OFFICER, suspension_id=suspension_id)

    async with sessions() as session:
        own, _ = await notifications.pull(session=session, principal=HOLDER, after=None, limit=50)
        others, _ = await notifications.pull(
            session=session, principal=OTHER_HOLDER, after=None, limit=50
        )
    mine = [n for n in own if n.data.get("suspension_id") == str(suspension_id)]
    assert [n.type for n in mine] == ["ipr.suspension_opened", "ipr.suspension_extended"]
    assert mine[0].data["declaration_id"] == str(declaration_id)
    assert mine[0].data["deadline"] == "2026-09-16"
    assert all(n.data.get("suspension_id") != str(suspension_id) for n in others)

    async with httpx.AsyncClient(timeout=5) as http:
        delivered = await notifications.deliver_due(sessions, http=http, policy=POLICY)
    assert delivered >= 2
    verifier = Webhook(created.secret)
    pushed = [json.loads(body) for headers, body in received]
    for headers, raw in received:
        verifier.verify(raw, headers)  # raises on a bad signature
    ours = [p for p in pushed if p["data"].get("suspension_id") == str(suspension_id)]
    assert [p["type"] for p in ours] == ["ipr.suspension_opened", "ipr.suspension_extended"]


async def test_a_holder_cannot_subscribe_to_declaration_notifications(sessions: Sessions) -> None:
    body = SubscriptionIn.model_validate(
        {"url": "http://127.0.0.1:9/x", "event_types": ["declaration.lane_assigned"]}
    )
    with pytest.raises(UnknownEventType) as refused:
        async with sessions() as session, session.begin():
            await notifications.subscribe(
                session=session, principal=HOLDER, body=body, policy=POLICY, area="ipr"
            )
    assert refused.value.status == 422
    assert "declaration.lane_assigned" in str(refused.value.detail)
