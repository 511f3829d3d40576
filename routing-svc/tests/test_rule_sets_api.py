"""Rule sets through the API on a real PostgreSQL: a rule that does not compile is
refused with its id and the compiler's message, activation switches the rules routing
decides with and is audited, and a dry run names exactly the declarations it changes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import Role, Scope
from customs_shared.events.schemas import ItemFacts
from routing_svc.rules.active import BUILTIN_VERSION
from routing_svc.rules.definitions import builtin
from tests.support.factories import declaration_submitted, item_facts
from tests.support.routing_api import RoutingApi, routing_api

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"
RULE_SETS = "/api/v1/routing/rule-sets"


@pytest.fixture
async def api(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[RoutingApi]:
    harness = routing_api(sessions)
    async with harness.http:
        yield harness


def rule(rule_id: str, expression: str, lane: str = "red", **extra: Any) -> dict[str, Any]:
    return {
        "id": rule_id,
        "name": f"Rule {rule_id}",
        "expression": expression,
        "lane": lane,
        "reason": f"{rule_id} fired on {{items.hs_code}}.",
        **extra,
    }


def with_builtin(*rules: dict[str, Any]) -> dict[str, Any]:
    """The built-in rule set plus ``rules``."""
    definition = builtin().model_dump(mode="json", exclude_none=True)
    definition["rules"] += list(rules)
    return definition


def shirts(**overrides: Any) -> ItemFacts:
    return item_facts(hs_code="61091000", **overrides)


def phones() -> ItemFacts:
    return item_facts(hs_code="85171300", description="Mobile phones", origin_country="KR")


async def create(api: RoutingApi, definition: dict[str, Any]) -> int:
    response = await api.http.post(RULE_SETS, json=definition, headers=api.as_risk_manager())
    assert response.status_code == 201, response.text
    version: int = response.json()["version"]
    assert response.headers["location"] == f"{RULE_SETS}/{version}"
    return version


async def activate(api: RoutingApi, version: int) -> dict[str, Any]:
    response = await api.http.post(
        f"{RULE_SETS}/{version}/activation", headers=api.as_risk_manager()
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def audit(api: RoutingApi, prefix: str) -> list[dict[str, Any]]:
    response = await api.http.get(
        "/api/v1/routing/audit",
        params={"subject_prefix": prefix},
        headers=api.as_risk_manager(),
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("declaration.value_vnd >", "Syntax error"),
        ("value_vnd > 1000.0", "undeclared reference to 'value_vnd'"),
        ("declaration.valeu_vnd > 1000.0", "valeu_vnd"),
    ],
    ids=["syntax", "undeclared-variable", "missing-field"],
)
async def test_a_rule_that_does_not_compile_is_refused_with_its_id_and_nothing_is_stored(
    api: RoutingApi, expression: str, message: str
) -> None:
    definition = with_builtin(rule("typo-rule", expression))

    response = await api.http.post(RULE_SETS, json=definition, headers=api.as_risk_manager())

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["rule_id"] == "typo-rule"
    assert message in problem["compiler_message"]
    assert "typo-rule" in problem["detail"]
    listing = await api.http.get(RULE_SETS, headers=api.as_risk_manager())
    assert listing.json()["items"] == []
    assert await audit(api, "rule-set/") == []


async def test_activation_switches_the_rules_routing_decides_with_and_is_audited(
    api: RoutingApi,
) -> None:
    red_shirts = rule("shirts-red", "items.exists(i, i.hs_heading == '6109')")
    version = await create(api, with_builtin(red_shirts))
    stored = (await api.http.get(f"{RULE_SETS}/{version}", headers=api.as_risk_manager())).json()
    assert stored["status"] == "draft"
    assert stored["created_by"] == "risk-manager-1"
    # A rule without an author is the caller's.
    authors = {r["id"]: r.get("author") for r in stored["definition"]["rules"]}
    assert authors["shirts-red"] == "risk-manager-1"

    # Stored is not active: routing still decides with the built-in rules.
    before = await api.route(declaration_submitted(items=[shirts()]))
    assert (before.lane, before.rule_set_version) == ("green", BUILTIN_VERSION)
    active = await api.http.get(f"{RULE_SETS}/active", headers=api.as_risk_manager())
    assert (active.json()["label"], active.json()["version"]) == (BUILTIN_VERSION, None)

    activated = await activate(api, version)
    assert (activated["status"], activated["activated_by"]) == ("active", "risk-manager-1")

    after = await api.route(declaration_submitted(items=[shirts()]))
    assert (after.lane, after.rule_set_version) == ("red", f"rs-{version}")
    assert "shirts-red" in [r["rule"] for r in after.reasons]
    active = await api.http.get(f"{RULE_SETS}/active", headers=api.as_risk_manager())
    assert (active.json()["label"], active.json()["version"]) == (f"rs-{version}", version)
    [entry] = [e for e in await audit(api, "rule-set/") if e["action"] == "rule-set.activated"]
    assert entry["actor"] == "risk-manager-1"
    assert entry["detail"]["previous"] == BUILTIN_VERSION


async def test_a_later_version_retires_the_active_one_and_a_rollback_is_allowed(
    api: RoutingApi,
) -> None:
    first = await create(api, with_builtin(rule("shirts-red", "items.size() > 0")))
    second = await create(api, with_builtin(rule("shirts-yellow", "items.size() > 0", "yellow")))
    await activate(api, first)
    await activate(api, second)
    statuses = await api.http.get(RULE_SETS, headers=api.as_risk_manager())
    assert [(s["version"], s["status"]) for s in statuses.json()["items"]] == [
        (second, "active"),
        (first, "retired"),
    ]
    assert (await api.route(declaration_submitted())).lane == "yellow"

    await activate(api, first)  # rollback

    assert (await api.route(declaration_submitted())).lane == "red"
    [latest, *_] = await audit(api, "rule-set/")
    assert latest["subject"] == f"rule-set/{first}"
    assert latest["detail"]["previous"] == f"rs-{second}"
    page = await api.http.get(RULE_SETS, params={"limit": 1}, headers=api.as_risk_manager())
    assert [s["version"] for s in page.json()["items"]] == [second]
    assert page.json()["next_before"] == second
    older = await api.http.get(
        RULE_SETS, params={"limit": 1, "before": second}, headers=api.as_risk_manager()
    )
    assert [s["version"] for s in older.json()["items"]] == [first]


async def test_unknown_versions_are_404_problems(api: RoutingApi) -> None:
    for response in (
        await api.http.post(f"{RULE_SETS}/999/activation", headers=api.as_risk_manager()),
        await api.http.get(f"{RULE_SETS}/999", headers=api.as_risk_manager()),
        await api.http.post(
            f"{RULE_SETS}/999/dry-run", json={"declarations": 5}, headers=api.as_risk_manager()
        ),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM


async def test_versions_and_positions_beyond_their_columns_are_422_problems(
    api: RoutingApi,
) -> None:
    too_large = 2**31
    for response in (
        await api.http.get(RULE_SETS, params={"before": too_large}, headers=api.as_risk_manager()),
        await api.http.get(
            "/api/v1/routing/audit", params={"before": 2**63}, headers=api.as_risk_manager()
        ),
        await api.http.post(f"{RULE_SETS}/{too_large}/activation", headers=api.as_risk_manager()),
        await api.http.get(f"{RULE_SETS}/{too_large}", headers=api.as_risk_manager()),
        await api.http.post(
            f"{RULE_SETS}/{too_large}/dry-run", json={}, headers=api.as_risk_manager()
        ),
    ):
        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM


async def test_the_dry_run_reports_exactly_the_declarations_whose_lane_changes(
    api: RoutingApi,
) -> None:
    changed = [(await api.route(declaration_submitted(items=[shirts()]))) for _ in range(2)]
    unchanged = await api.route(declaration_submitted(items=[phones()]))
    assert {d.lane for d in [*changed, unchanged]} == {"green"}
    candidate = await create(
        api,
        with_builtin(rule("shirts-yellow", "items.exists(i, i.hs_heading == '6109')", "yellow")),
    )

    response = await api.http.post(
        f"{RULE_SETS}/{candidate}/dry-run",
        json={"declarations": 50},
        headers=api.as_risk_manager(),
    )

    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rule_set"], report["declarations"], report["changed"]) == (
        f"rs-{candidate}",
        3,
        2,
    )
    assert {c["declaration_id"] for c in report["changes"]} == {
        str(d.declaration_id) for d in changed
    }
    assert {(c["from_lane"], c["to_lane"]) for c in report["changes"]} == {("green", "yellow")}
    assert all(c["rules_fired"] == ["shirts-yellow"] for c in report["changes"])
    assert report["before"] == {"green": 1.0, "yellow": 0.0, "red": 0.0}
    assert report["after"] == {"green": 0.3333, "yellow": 0.6667, "red": 0.0}
    assert report["changes_truncated"] is False
    # Nothing was stored or switched: the lanes and the active rules are as they were.
    assert (await api.route(declaration_submitted(items=[shirts()]))).lane == "green"

    newest = await api.http.post(
        f"{RULE_SETS}/{candidate}/dry-run", json={"declarations": 1}, headers=api.as_risk_manager()
    )
    assert (newest.json()["declarations"], newest.json()["changed"]) == (1, 1)
    too_many = await api.http.post(
        f"{RULE_SETS}/{candidate}/dry-run",
        json={"declarations": 100_000},
        headers=api.as_risk_manager(),
    )
    assert too_many.status_code == 422
    assert too_many.json()["type"].endswith("/dry-run-too-large")


async def test_only_risk_managers_and_admins_with_the_scope_get_in(api: RoutingApi) -> None:
    rules = Scope.ROUTING_RULES.value
    no_token = await api.http.get(RULE_SETS)
    assert no_token.status_code == 401
    assert no_token.headers["content-type"] == PROBLEM
    for headers in (
        api.as_role(Role.BROKER, "0312345673", rules, Scope.ROUTING_READ.value),
        api.as_role(Role.OFFICER, "customs-hq", rules),
        api.as_role(Role.RISK_MANAGER, "customs-hq", Scope.ROUTING_READ.value),  # no scope
    ):
        refused = await api.http.post(RULE_SETS, json=with_builtin(), headers=headers)
        assert refused.status_code == 403
        assert refused.headers["content-type"] == PROBLEM
    admin = await api.http.get(RULE_SETS, headers=api.as_role(Role.ADMIN, "customs-hq", rules))
    assert admin.status_code == 200


async def test_concurrent_activations_leave_exactly_one_active_version(api: RoutingApi) -> None:
    versions = [
        await create(api, with_builtin(rule(f"rule-{n}", "items.size() > 0"))) for n in range(4)
    ]

    responses = await asyncio.gather(
        *(
            api.http.post(f"{RULE_SETS}/{v}/activation", headers=api.as_risk_manager())
            for v in versions
        )
    )

    assert {r.status_code for r in responses} <= {200, 409}
    won = [v for v, r in zip(versions, responses, strict=True) if r.status_code == 200]
    assert won
    listing = (await api.http.get(RULE_SETS, headers=api.as_risk_manager())).json()["items"]
    active = [s["version"] for s in listing if s["status"] == "active"]
    assert len(active) == 1
    assert active[0] in won
    activations = [e for e in await audit(api, "rule-set/") if e["action"] == "rule-set.activated"]
    assert len(activations) == len(won)
