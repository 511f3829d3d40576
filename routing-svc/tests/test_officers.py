"""Officers on a real PostgreSQL, through the API with signed tokens: yellow and red
declarations go to the least-loaded officer of their office, overrides need a reason and
respect an IPR suspension, and inspection outcomes make each rule's hit rate."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import Role
from customs_shared.db import utcnow
from customs_shared.events.schemas import (
    DeclarationCancelled,
    IprHit,
    IprOutcome,
    IprScreened,
    IprSuspensionChanged,
    SignatureChecked,
    SignatureStatus,
)
from customs_shared.messaging.models import OutboxEvent
from customs_shared.pagination import CursorCodec
from routing_svc.audit.models import AuditEntry
from routing_svc.lanes import dependencies, service
from routing_svc.lanes.models import LaneDecision
from routing_svc.lanes.service import LanePolicy
from routing_svc.main import ROUTERS
from routing_svc.officers import service as officers
from routing_svc.officers.models import Assignment, InspectionOutcome, LaneOverride
from routing_svc.rules.active import ActiveRuleSet
from tests.support.factories import declaration_submitted, principal
from tests.support.inprocess import Caller, Tokens, api_client, service_app
from tests.support.postgres import sent_statements

pytestmark = pytest.mark.integration

Sessions = async_sessionmaker[AsyncSession]
HQ = "customs-hq"
ADMIN = principal(Role.ADMIN, HQ, "admin", "routing:read", "routing:write", subject="admin-1")
OFFICER_A = principal(Role.OFFICER, HQ, "routing:read", "routing:write", subject="officer-a")
OFFICER_B = principal(Role.OFFICER, HQ, "routing:read", "routing:write", subject="officer-b")
OFFICER_C = principal(Role.OFFICER, HQ, "routing:read", "routing:write", subject="officer-c")
NEWCOMER = principal(Role.OFFICER, HQ, "routing:read", "routing:write", subject="officer-new")
READ_ONLY = principal(Role.OFFICER, HQ, "routing:read", subject="officer-a")
BROKER = principal(Role.BROKER, "0312345673", "routing:read", "routing:write")
POLICY = LanePolicy(ActiveRuleSet(), timedelta(seconds=30), False, b"s" * 32)


@pytest.fixture
async def api(sessions: Sessions) -> AsyncIterator[Caller]:
    tokens = Tokens()
    app = service_app(ROUTERS, lambda a: dependencies.install(a, POLICY, CursorCodec(b"c" * 32)))
    async with api_client(app, sessions, tokens) as client:
        yield Caller(client, tokens, "/api/v1/routing")


def counted(metric: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(metric, labels) or 0.0


async def declare(
    sessions: Sessions,
    *,
    office: str = "02CI",
    signature: SignatureStatus = SignatureStatus.VALID,
    ipr_hit: bool = False,
    total: str = "1000000",
) -> uuid.UUID:
    """A declaration decided by the built-in rules from its screening results."""
    async with sessions() as session, session.begin():
        return await decide(
            session, office=office, signature=signature, ipr_hit=ipr_hit, total=total
        )


async def decide(
    session: AsyncSession,
    *,
    office: str = "02CI",
    signature: SignatureStatus = SignatureStatus.VALID,
    ipr_hit: bool = False,
    total: str = "1000000",
) -> uuid.UUID:
    """:func:`declare` in the caller's transaction (one consumer batch)."""
    data = declaration_submitted(customs_office=office, total=Decimal(total))
    hits = [IprHit(record_id="r-1", item_line=1, matched="NIKE")] if ipr_hit else []
    await service.on_submitted(session, data, policy=POLICY)
    await service.on_signature(
        session,
        SignatureChecked(
            declaration_id=data.declaration_id,
            tenant=data.tenant,
            status=signature,
            detail="test",
        ),
        policy=POLICY,
    )
    await service.on_ipr(
        session,
        IprScreened(
            declaration_id=data.declaration_id,
            tenant=data.tenant,
            outcome=IprOutcome.HIT if ipr_hit else IprOutcome.CLEAR,
            hits=hits,
            records_checked=1,
        ),
        policy=POLICY,
    )
    return data.declaration_id


async def register(api: Caller, who: str, office: str) -> None:
    response = await api.call("PUT", f"/officers/{who}", ADMIN, json={"office": office})
    assert response.status_code == 200, response.text


async def decision(sessions: Sessions, declaration_id: uuid.UUID) -> LaneDecision:
    async with sessions() as session:
        row = await session.get(LaneDecision, declaration_id)
    assert row is not None
    return row


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


async def test_officers_are_registered_by_admins_only(api: Caller) -> None:
    await register(api, "officer-a", "02CI")
    problem(await api.call("PUT", "/officers/x", None, json={"office": "02CI"}), 401)
    problem(await api.call("PUT", "/officers/x", OFFICER_A, json={"office": "02CI"}), 403)
    problem(await api.call("PUT", "/officers/x", ADMIN, json={"office": "hanoi"}), 422)
    off = await api.call(
        "PUT", "/officers/officer-a", ADMIN, json={"office": "02CI", "on_duty": False}
    )
    assert off.json()["on_duty"] is False
    listed = await api.call("GET", "/officers", ADMIN, params={"office": "02CI"})
    assert [(o["subject"], o["on_duty"]) for o in listed.json()["items"]] == [("officer-a", False)]


async def test_the_officers_page_through_every_office(api: Caller, sessions: Sessions) -> None:
    """By office, then subject; ``next_after`` leads to the next page, none on the last;
    an unknown subject, or one outside the ``office=`` filter, is an invalid cursor.
    Officers belong to no tenant: a trader's principal is shown none of them."""
    registered = [("officer-e", "03CE"), ("officer-b", "02CI"), ("officer-d", "03CE")]
    registered += [("officer-a", "02CI"), ("officer-c", "02CI")]
    for subject, office in registered:
        await register(api, subject, office)
    expected = [subject for _, subject in sorted((o, s) for s, o in registered)]
    pages, _ = await api.pages("/officers", ADMIN, key="subject", limit=2)
    assert pages == [expected[0:2], expected[2:4], expected[4:5]]
    only_03 = await api.call("GET", "/officers", ADMIN, params={"office": "03CE", "limit": "1"})
    following = await api.call(
        "GET", "/officers", ADMIN, params={"office": "03CE", "after": only_03.json()["next_after"]}
    )
    assert [o["subject"] for o in following.json()["items"]] == ["officer-e"]
    for params in ({"after": "officer-z"}, {"office": "03CE", "after": "officer-a"}):
        refused = problem(await api.call("GET", "/officers", ADMIN, params=params), 400)
        assert refused["type"].endswith("/invalid-cursor")
    async with sessions() as session:
        shown = await officers.officers(session=session, principal=BROKER, office=None, limit=10)
    assert (list(shown.items), shown.next_after) == ([], None)


async def test_work_goes_to_the_least_loaded_officer_of_the_office(
    api: Caller, sessions: Sessions
) -> None:
    await register(api, "officer-a", "02CI")
    await register(api, "officer-b", "02CI")
    await register(api, "officer-c", "03CE")
    missing = SignatureStatus.MISSING  # enterprise-signature-missing: yellow
    first = await declare(sessions, signature=missing)
    second = await declare(sessions, ipr_hit=True)  # red
    third = await declare(sessions, signature=missing, total="3000000000")  # two rules
    fourth = await declare(sessions, signature=missing)
    await declare(sessions)  # green: nobody's work
    async with sessions() as session:
        assigned = {
            a.declaration_id: a.officer for a in (await session.scalars(select(Assignment))).all()
        }
    assert assigned == {
        first: "officer-a",
        second: "officer-b",
        third: "officer-a",
        fourth: "officer-b",
    }

    queue = (await api.call("GET", "/queue", OFFICER_A)).json()
    assert [e["declaration_id"] for e in queue["items"]] == [str(first), str(third)]
    assert queue["next_cursor"] is None
    two_rules = queue["items"][1]
    assert (two_rules["lane"], two_rules["office"], two_rules["score"]) == ("yellow", "02CI", 25)
    assert {r["rule"] for r in two_rules["reasons"]} == {
        "enterprise-signature-missing",
        "high-value",
    }
    red = (await api.call("GET", "/queue", OFFICER_B)).json()["items"][0]
    assert (red["lane"], red["reasons"][0]["rule"]) == ("red", "ipr-hit")

    # Another office's officer gets nothing; an officer no office knows, an empty queue.
    assert (await api.call("GET", "/queue", OFFICER_C)).json()["items"] == []
    assert (await api.call("GET", "/queue", NEWCOMER)).json() == {"items": [], "next_cursor": None}

    page = (await api.call("GET", "/queue", OFFICER_A, params={"limit": 1})).json()
    assert [e["declaration_id"] for e in page["items"]] == [str(first)]
    rest = await api.call("GET", "/queue", OFFICER_A, params={"after": page["next_cursor"]})
    assert [e["declaration_id"] for e in rest.json()["items"]] == [str(third)]
    # A cursor is the caller's own: another officer cannot page with it.
    problem(await api.call("GET", "/queue", OFFICER_B, params={"after": page["next_cursor"]}), 400)

    problem(await api.call("GET", "/queue", None), 401)
    problem(await api.call("GET", "/queue", BROKER), 403)


async def test_one_batch_spreads_its_decisions_and_closes_what_it_cancels(
    api: Caller, sessions: Sessions
) -> None:
    await register(api, "officer-a", "02CI")
    await register(api, "officer-b", "02CI")
    await declare(sessions, signature=SignatureStatus.MISSING)  # officer-a has one already
    async with sessions() as session, session.begin():  # one consumer batch
        with sent_statements(session.sync_session) as sent:
            batch = [await decide(session, signature=SignatureStatus.MISSING) for _ in range(4)]
        # The office's workload read once for the four; their assignments go with the commit.
        assert sum("FROM officers" in sql for sql in sent) == 1
        assert not any("INSERT INTO assignments" in sql for sql in sent)
        cancelled = DeclarationCancelled(
            declaration_id=batch[3],
            version=1,
            tenant=declaration_submitted().tenant,
            reason="withdrawn",
            cancelled_at=utcnow(),
        )
        await service.on_cancelled(session, cancelled)
    async with sessions() as session:
        rows = {a.declaration_id: a for a in (await session.scalars(select(Assignment))).all()}
    # Each pick counts the batch's own: b, then a and b level at one, then a and b again.
    assert [rows[d].officer for d in batch] == ["officer-b", "officer-a", "officer-b", "officer-a"]
    assert [rows[d].closed_at is not None for d in batch] == [False, False, False, True]
    queue = (await api.call("GET", "/queue", OFFICER_A)).json()["items"]
    assert str(batch[3]) not in {e["declaration_id"] for e in queue}


async def test_work_waits_for_an_officer_and_follows_one_who_leaves_duty(
    api: Caller, sessions: Sessions
) -> None:
    missing = SignatureStatus.MISSING  # yellow
    waiting = [await declare(sessions, office="04HN", signature=missing) for _ in range(3)]

    async def owners() -> dict[uuid.UUID, str | None]:
        async with sessions() as session:
            rows = (await session.scalars(select(Assignment))).all()
        return {a.declaration_id: a.officer for a in rows if a.declaration_id in waiting}

    assert set((await owners()).values()) == {None}  # nobody on duty at 04HN yet
    await register(api, "officer-h1", "04HN")
    assert set((await owners()).values()) == {"officer-h1"}  # the backlog is taken up
    await register(api, "officer-h2", "04HN")
    assert set((await owners()).values()) == {"officer-h1"}  # work in hand stays in hand
    later = await declare(sessions, office="04HN", signature=missing)
    waiting.append(later)
    assert (await owners())[later] == "officer-h2"  # the least loaded gets new work

    off = await api.call(
        "PUT", "/officers/officer-h1", ADMIN, json={"office": "04HN", "on_duty": False}
    )
    assert off.status_code == 200
    assert set((await owners()).values()) == {"officer-h2"}  # handed over, nothing dropped


async def test_an_override_needs_a_reason_and_respects_an_ipr_suspension(
    api: Caller, sessions: Sessions
) -> None:
    await register(api, "officer-a", "02CI")
    held = await declare(sessions, ipr_hit=True)
    async with sessions() as session, session.begin():
        await service.on_ipr_suspension(
            session,
            IprSuspensionChanged(
                suspension_id=uuid.uuid4(),
                declaration_id=held,
                item_line=1,
                record_id="r-1",
                status="suspended",
                deadline=utcnow().date() + timedelta(days=10),
                extended=False,
                reason="counterfeit",
            ),
            policy=POLICY,
        )
    path = f"/decisions/{held}/override"

    for body in (
        {"lane": "yellow"},
        {"lane": "yellow", "reason": "   "},
        {"lane": "yellow", "reason": "x" * 2001},
    ):
        problem(await api.call("POST", path, OFFICER_A, json=body), 422)
    refused = problem(
        await api.call("POST", path, OFFICER_A, json={"lane": "green", "reason": "looks fine"}),
        409,
    )
    assert refused["type"].endswith("lane-override-refused")
    assert "suspended" in refused["detail"]
    same = problem(
        await api.call("POST", path, OFFICER_A, json={"lane": "red", "reason": "r"}), 409
    )
    assert "already" in same["detail"]
    problem(await api.call("POST", path, READ_ONLY, json={"lane": "yellow", "reason": "r"}), 403)
    problem(await api.call("POST", path, ADMIN, json={"lane": "yellow", "reason": "r"}), 403)
    problem(await api.call("POST", path, BROKER, json={"lane": "yellow", "reason": "r"}), 403)
    problem(await api.call("POST", path, None, json={"lane": "yellow", "reason": "r"}), 401)
    problem(
        await api.call(
            "POST",
            f"/decisions/{uuid.uuid4()}/override",
            OFFICER_A,
            json={"lane": "red", "reason": "r"},
        ),
        404,
    )

    reason = "Right holder's sample shows the goods are genuine; documents suffice."
    overrides = counted("routing_lane_overrides_total", from_lane="red", to_lane="yellow")
    done = await api.call(
        "POST", path, OFFICER_A, json={"lane": "yellow", "reason": f"  {reason} "}
    )
    assert done.status_code == 200, done.text
    assert done.json() == {
        "declaration_id": str(held),
        "version": 1,
        "revision": 2,
        "from_lane": "red",
        "to_lane": "yellow",
    }
    assert counted("routing_lane_overrides_total", from_lane="red", to_lane="yellow") == (
        overrides + 1
    )
    row = await decision(sessions, held)
    assert (row.lane, row.rules_lane, row.overridden, row.revision) == ("yellow", "red", True, 2)
    assert row.reasons[-1]["rule"] == "officer-override"
    assert row.reasons[-1]["explanation"] == reason
    async with sessions() as session:
        [stored] = (await session.scalars(select(LaneOverride))).all()
        [entry] = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "lane.overridden"))
        ).all()
        payloads = (
            await session.scalars(select(OutboxEvent.payload).order_by(OutboxEvent.seq))
        ).all()
        still = await session.get(Assignment, held)
    assert (stored.from_lane, stored.to_lane, stored.officer, stored.reason) == (
        "red",
        "yellow",
        "officer-a",
        reason,
    )
    assert (entry.actor, entry.subject) == ("officer-a", f"declaration/{held}")
    assert entry.detail == {
        "version": 1,
        "revision": 2,
        "from": "red",
        "to": "yellow",
        "reason": reason,
    }
    events = [json.loads(p) for p in payloads]
    lanes = [
        (e["data"]["revision"], e["data"]["lane"])
        for e in events
        if e["data"].get("declaration_id") == str(held)
    ]
    assert lanes == [(1, "red"), (2, "yellow")]
    assert events[-1]["type"] == "customs.lane.assigned.v1"
    # The officer keeps the file whose lane changed.
    assert still is not None
    assert (still.officer, still.lane, still.closed_at) == (
        "officer-a",
        "yellow",
        None,
    )


async def test_an_override_to_green_takes_the_declaration_off_the_queue(
    api: Caller, sessions: Sessions
) -> None:
    await register(api, "officer-a", "02CI")
    declaration_id = await declare(sessions, signature=SignatureStatus.MISSING)
    assert len((await api.call("GET", "/queue", OFFICER_A)).json()["items"]) == 1
    done = await api.call(
        "POST",
        f"/decisions/{declaration_id}/override",
        OFFICER_A,
        json={"lane": "green", "reason": "Signed paper original presented at the counter."},
    )
    assert done.json()["to_lane"] == "green"
    assert (await api.call("GET", "/queue", OFFICER_A)).json()["items"] == []
    inspect = await api.call(
        "POST",
        f"/decisions/{declaration_id}/inspection",
        OFFICER_A,
        json={"result": "nothing_found"},
    )
    assert problem(inspect, 409)["type"].endswith("inspection-not-applicable")


async def inspect(api: Caller, declaration_id: uuid.UUID, **body: Any) -> httpx.Response:
    return await api.call("POST", f"/decisions/{declaration_id}/inspection", OFFICER_A, json=body)


async def test_inspection_outcomes_make_the_hit_rates(api: Caller, sessions: Sessions) -> None:
    await register(api, "officer-a", "02CI")
    missing = SignatureStatus.MISSING
    two_rules = await declare(sessions, signature=missing, total="3000000000")
    one_rule = await declare(sessions, signature=missing)
    await declare(sessions, signature=missing)  # fires, never inspected
    counterfeit = await declare(sessions, ipr_hit=True)
    green = await declare(sessions)
    randomly = await randomly_selected(sessions)

    problem(await inspect(api, two_rules, result="found"), 422)  # what was found?
    problem(await inspect(api, two_rules, result="nothing_found", seized=True), 422)
    problem(await inspect(api, uuid.uuid4(), result="nothing_found"), 404)
    problem(await inspect(api, green, result="nothing_found"), 409)
    forbidden = await api.call(
        "POST", f"/decisions/{two_rules}/inspection", READ_ONLY, json={"result": "nothing_found"}
    )
    problem(forbidden, 403)

    hits = counted("routing_inspection_outcomes_total", rule="high-value", found="true")
    found = await inspect(api, two_rules, result="found", findings="Undeclared second pallet")
    assert found.status_code == 201, found.text
    assert found.json()["rules_fired"] == ["enterprise-signature-missing", "high-value"]
    again = await inspect(api, two_rules, result="found", findings="Undeclared second pallet")
    assert again.status_code == 200  # the same outcome again: answered with the stored one
    assert again.json() == found.json()
    # Counted once, though sent twice.
    assert counted("routing_inspection_outcomes_total", rule="high-value", found="true") == hits + 1
    other = await inspect(api, two_rules, result="nothing_found")
    assert problem(other, 409)["type"].endswith("inspection-already-recorded")
    assert (await inspect(api, one_rule, result="nothing_found")).status_code == 201
    seized = await inspect(
        api, counterfeit, result="found", findings="Counterfeit trainers", seized=True
    )
    assert seized.json()["seized"] is True
    random_check = await inspect(api, randomly, result="found", findings="Mislabelled origin")
    assert random_check.json()["randomly_selected"] == "yellow"
    assert random_check.json()["rules_fired"] == []

    # Inspected work leaves the queue; the uninspected one stays.
    assert len((await api.call("GET", "/queue", OFFICER_A)).json()["items"]) == 1
    async with sessions() as session:
        audited = (
            await session.scalars(
                select(AuditEntry.subject).where(AuditEntry.action == "inspection.recorded")
            )
        ).all()
        outcomes = (await session.scalars(select(InspectionOutcome))).all()
    assert len(audited) == len(outcomes) == 4

    rates = await api.call("GET", "/rules/hit-rates", OFFICER_A)
    assert rates.status_code == 200, rates.text
    by_rule = {r["rule"]: r for r in rates.json()["rules"]}
    assert by_rule["enterprise-signature-missing"] == {
        "rule": "enterprise-signature-missing",
        "fired": 3,
        "selection_rate": pytest.approx(3 / 6),
        "inspected": 2,
        "found": 1,
        "hit_rate": 0.5,
    }
    assert (by_rule["high-value"]["fired"], by_rule["high-value"]["hit_rate"]) == (1, 1.0)
    assert (by_rule["ipr-hit"]["inspected"], by_rule["ipr-hit"]["found"]) == (1, 1)
    assert set(by_rule) == {"enterprise-signature-missing", "high-value", "ipr-hit"}
    assert rates.json()["random_selection"] == {"inspected": 1, "found": 1, "hit_rate": 1.0}

    admin_view = await api.call("GET", "/rules/hit-rates", ADMIN)
    assert admin_view.json()["rules"] == rates.json()["rules"]
    before = (utcnow() - timedelta(days=1)).isoformat()
    empty = await api.call("GET", "/rules/hit-rates", OFFICER_A, params={"to": before})
    assert empty.json()["rules"] == []
    problem(await api.call("GET", "/rules/hit-rates", BROKER), 403)
    problem(
        await api.call("GET", "/rules/hit-rates", OFFICER_A, params={"from": before, "to": before}),
        400,
    )


async def randomly_selected(sessions: Sessions) -> uuid.UUID:
    """A green declaration random selection raised to yellow, as the engine records it."""
    declaration_id = await declare(sessions)
    async with sessions() as session, session.begin():
        row = await session.get(LaneDecision, declaration_id, with_for_update=True)
        assert row is not None
        row.lane = row.rules_lane = "yellow"
        row.randomly_selected = "yellow"
        row.reasons = [{"rule": "random-selection", "lane": "yellow", "explanation": "random"}]
        row.revision = 2
        await service.publish(session, row)
    return declaration_id
