"""Routing's measurement on a real PostgreSQL, against a known set of decisions: lane
shares beside the active rule set's capacity targets, exact percentiles of known
submission-to-decision times, random selections and each rule's selection rate."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import Principal, Role
from customs_shared.db import utcnow
from customs_shared.pagination import CursorCodec
from routing_svc.lanes import dependencies
from routing_svc.lanes.models import LaneDecision
from routing_svc.lanes.service import LanePolicy
from routing_svc.main import ROUTERS
from routing_svc.rules import definitions
from routing_svc.rules.active import ActiveRuleSet
from routing_svc.rules.models import RuleSet
from tests.support.factories import principal
from tests.support.inprocess import Caller, Tokens, api_client, service_app

pytestmark = pytest.mark.integration

Sessions = async_sessionmaker[AsyncSession]
OFFICER = principal(Role.OFFICER, "customs-hq", "routing:read", subject="officer-a")
ADMIN = principal(Role.ADMIN, "customs-hq", "routing:read", "admin", subject="admin-1")
BROKER = principal(Role.BROKER, "0312345673", "routing:read")
RISK_MANAGER = principal(Role.RISK_MANAGER, "customs-hq", "routing:read", "routing:rules")
NOW = utcnow()


@pytest.fixture
async def api(sessions: Sessions) -> AsyncIterator[Caller]:
    tokens = Tokens()
    policy = LanePolicy(ActiveRuleSet(), timedelta(seconds=30), False, b"s" * 32)
    app = service_app(ROUTERS, lambda a: dependencies.install(a, policy, CursorCodec(b"c" * 32)))
    async with api_client(app, sessions, tokens) as client:
        yield Caller(client, tokens, "/api/v1/routing")


async def statistics(api: Caller, who: Principal | None = OFFICER, **params: str) -> httpx.Response:
    return await api.call("GET", "/statistics", who, params=params)


def decision(
    office: str,
    lane: str,
    seconds: float,
    rules: list[str],
    *,
    days_ago: float = 1,
    randomly: str | None = None,
    overridden: bool = False,
) -> LaneDecision:
    decided = NOW - timedelta(days=days_ago)
    reasons: list[dict[str, Any]] = [
        {"rule": r, "lane": lane, "explanation": r} for r in rules or ["no-risk-found"]
    ]
    return LaneDecision(
        declaration_id=uuid.uuid4(),
        version=1,
        tenant="0312345673",
        lane=lane,
        rules_lane=lane,
        reasons=reasons,
        rule_set_version="rs-1",
        inputs={},
        decided_at=decided,
        submitted_at=decided - timedelta(seconds=seconds),
        office=office,
        randomly_selected=randomly,
        overridden=overridden,
    )


@pytest.fixture
async def known_set(sessions: Sessions) -> None:
    """02CI: ten decisions taking 1..10 s (5 green, 4 yellow, 1 red); 03CE: green in
    20 s, red in 40 s and one an officer overrode (not timed); one of 02CI more than 30
    days old. The active rule set targets 60/30/10 at 03CE, 52/43/5 elsewhere."""
    lanes = ["green"] * 5 + ["yellow"] * 4 + ["red"]
    rows = [
        decision(
            "02CI",
            lane,
            seconds,
            {"green": [], "yellow": ["hs-risk-medium"], "red": ["hs-risk-high"]}[lane],
            randomly="yellow" if seconds == 6 else None,
        )
        for seconds, lane in enumerate(lanes, start=1)
    ]
    rows[6].reasons = [{"rule": "random-selection", "lane": "yellow", "explanation": "random"}]
    rows += [
        decision("03CE", "green", 20, []),
        decision("03CE", "red", 40, ["country-risk-high", "hs-risk-high"]),
        decision("03CE", "yellow", 1000, ["officer-override"], overridden=True),
        decision("02CI", "red", 3, ["hs-risk-high"], days_ago=40),
    ]
    definition = definitions.builtin().model_dump(mode="json")
    definition["capacity_targets"]["offices"] = {"03CE": {"green": 0.6, "yellow": 0.3, "red": 0.1}}
    async with sessions() as session, session.begin():
        session.add_all(rows)
        session.add(RuleSet(definition=definition, status="active", created_by="risk-1"))


def office(body: dict[str, Any], code: str) -> dict[str, Any]:
    return next(o for o in body["offices"] if o["office"] == code)


@pytest.mark.usefixtures("known_set")
async def test_statistics_match_the_known_set(api: Caller) -> None:
    response = await statistics(api)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rule_set_version"] == "rs-1"
    assert [o["office"] for o in body["offices"]] == ["02CI", "03CE"]

    hanoi = office(body, "02CI")
    assert hanoi["decisions"] == 10
    assert hanoi["lanes"] == {"green": 5, "yellow": 4, "red": 1}
    assert hanoi["shares"] == {"green": 0.5, "yellow": 0.4, "red": 0.1}
    assert hanoi["capacity_target"] == {"green": 0.52, "yellow": 0.43, "red": 0.05}
    assert hanoi["random_selections"] == {"yellow": 1, "red": 0}
    # percentile_cont interpolates: over 1..10 s, p95 lies 55 % of the way from 9 to 10.
    assert hanoi["submission_to_decision_seconds"] == {
        "decisions": 10,
        "p50": pytest.approx(5.5),
        "p95": pytest.approx(9.55),
        "p99": pytest.approx(9.91),
    }

    port = office(body, "03CE")
    assert port["lanes"] == {"green": 1, "yellow": 1, "red": 1}
    assert port["capacity_target"] == {"green": 0.6, "yellow": 0.3, "red": 0.1}
    assert port["submission_to_decision_seconds"] == {
        "decisions": 2,  # the overridden one is the officer's time, not the rules'
        "p50": pytest.approx(30),
        "p95": pytest.approx(39),
        "p99": pytest.approx(39.8),
    }

    overall = body["overall"]
    assert overall["office"] is None
    assert overall["lanes"] == {"green": 6, "yellow": 5, "red": 2}
    assert overall["shares"]["green"] == pytest.approx(6 / 13)
    assert overall["capacity_target"] == {"green": 0.52, "yellow": 0.43, "red": 0.05}
    times = overall["submission_to_decision_seconds"]
    assert (times["decisions"], times["p50"], times["p95"], times["p99"]) == (
        12,
        pytest.approx(6.5),
        pytest.approx(29),
        pytest.approx(37.8),
    )

    rules = {r["rule"]: r for r in body["rules"]}
    assert set(rules) == {"hs-risk-medium", "hs-risk-high", "country-risk-high"}
    assert rules["hs-risk-medium"]["fired"] == 3
    assert rules["hs-risk-medium"]["selection_rate"] == pytest.approx(3 / 13)
    assert rules["hs-risk-high"]["fired"] == 2  # the 40-day-old one is outside the period
    assert rules["hs-risk-high"]["hit_rate"] is None  # nothing inspected yet
    assert body["random_selection"] == {"inspected": 0, "found": 0, "hit_rate": None}


@pytest.mark.usefixtures("known_set")
async def test_an_office_and_a_period_narrow_the_figures(api: Caller) -> None:
    port = (await statistics(api, office="03CE")).json()
    assert port["overall"]["decisions"] == 3
    assert port["overall"]["capacity_target"] == {"green": 0.6, "yellow": 0.3, "red": 0.1}
    assert [o["office"] for o in port["offices"]] == ["03CE"]
    assert {r["rule"] for r in port["rules"]} == {"hs-risk-high", "country-risk-high"}

    idle = (await statistics(api, office="99ZZ")).json()
    assert idle["overall"]["decisions"] == 0
    assert idle["overall"]["shares"] is None
    assert idle["offices"][0]["capacity_target"] == {"green": 0.52, "yellow": 0.43, "red": 0.05}

    old = await statistics(
        api,
        **{
            "from": (NOW - timedelta(days=60)).isoformat(),
            "to": (NOW - timedelta(days=30)).isoformat(),
        },
    )
    assert old.json()["overall"]["lanes"] == {"green": 0, "yellow": 0, "red": 1}


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"from": "2026-01-01T00:00:00Z", "to": "2025-01-01T00:00:00Z"}, 400),
        ({"from": "2024-01-01T00:00:00Z", "to": "2025-06-01T00:00:00Z"}, 400),
        ({"from": "2026-01-01T00:00:00"}, 422),  # no time zone
        ({"office": "hanoi"}, 422),
    ],
)
async def test_bad_parameters_are_problems(
    api: Caller, params: dict[str, str], status: int
) -> None:
    response = await statistics(api, **params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_only_customs_staff_see_statistics(api: Caller) -> None:
    assert (await statistics(api, BROKER)).status_code == 403
    assert (await statistics(api, None)).status_code == 401
    assert (await statistics(api, ADMIN)).status_code == 200
    # Risk managers tune the rules by these figures.
    assert (await statistics(api, RISK_MANAGER)).status_code == 200
