"""Risk inputs through the API on a real PostgreSQL, then a declaration routed through
the handlers: each kind of input changes the lane it should, every change bumps the
input's version and the audit trail holds the value before and after."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import Role, Scope
from tests.support.factories import TAX_CODE, declaration_submitted
from tests.support.routing_api import RoutingApi, routing_api

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"
BASE = "/api/v1/routing"
# The factory's declaration: an enterprise (TAX_CODE) importing 10 PCE of HS 61091000
# from CN worth 1,000,000 VND, i.e. 100,000 VND a unit.


@pytest.fixture
async def api(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[RoutingApi]:
    harness = routing_api(sessions)
    async with harness.http:
        yield harness


async def put(api: RoutingApi, path: str, body: dict[str, Any], **headers: str) -> Any:
    response = await api.http.put(
        f"{BASE}/{path}", json=body, headers={**api.as_risk_manager(), **headers}
    )
    return response


async def fired(api: RoutingApi) -> tuple[str, list[str]]:
    decision = await api.route(declaration_submitted())
    return decision.lane, [r["rule"] for r in decision.reasons]


CHANGES = [
    pytest.param(
        f"trader-profiles/{TAX_CODE}",
        {"compliance_level": "non_compliant", "past_violations": 2},
        "red",
        "trader-non-compliant",
        id="trader-non-compliant",
    ),
    pytest.param(
        f"trader-profiles/{TAX_CODE}",
        {"compliance_level": "low"},
        "yellow",
        "trader-low-compliance",
        id="trader-low",
    ),
    pytest.param(
        "risk-lists/countries/CN",
        {"level": "high", "reason": "transshipment"},
        "red",
        "country-risk-high",
        id="country-high",
    ),
    pytest.param(
        "risk-lists/countries/CN",
        {"level": "medium", "reason": "under-valuation"},
        "yellow",
        "country-risk-medium",
        id="country-medium",
    ),
    pytest.param(
        "risk-lists/hs-codes/6109",
        {"level": "medium", "reason": "counterfeit apparel"},
        "yellow",
        "hs-risk-medium",
        id="hs-heading-medium",
    ),
    pytest.param(
        "risk-lists/hs-codes/61091000",
        {"level": "high", "reason": "counterfeit apparel"},
        "red",
        "hs-risk-high",
        id="hs-line-high",
    ),
    pytest.param(
        "reference-prices/61091000/CN/PCE",
        {"unit_price_vnd": "300000", "source": "2026 market survey"},
        "yellow",
        "valuation-anomaly",
        id="reference-price",
    ),
]


@pytest.mark.parametrize(("path", "body", "lane", "rule_id"), CHANGES)
async def test_each_risk_input_changes_the_lane(
    api: RoutingApi, path: str, body: dict[str, Any], lane: str, rule_id: str
) -> None:
    assert await fired(api) == ("green", ["no-risk-found"])

    response = await put(api, path, body)

    assert response.status_code == 201, response.text
    assert (response.json()["version"], response.headers["etag"]) == (1, '"1"')
    now_lane, rules = await fired(api)
    assert (now_lane, rules) == (lane, [rule_id])

    deleted = await api.http.delete(f"{BASE}/{path}", headers=api.as_risk_manager())
    assert deleted.status_code == 204
    assert await fired(api) == ("green", ["no-risk-found"])
    missing = await api.http.get(f"{BASE}/{path}", headers=api.as_risk_manager())
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM


async def test_a_reference_price_at_or_below_the_declared_price_is_no_anomaly(
    api: RoutingApi,
) -> None:
    response = await put(api, "reference-prices/610910/CN/PCE", {"unit_price_vnd": "150000"})
    assert response.status_code == 201
    assert await fired(api) == ("green", ["no-risk-found"])  # 100,000 is not below half
    await put(api, "reference-prices/610910/CN/PCE", {"unit_price_vnd": "200000.5"})
    assert await fired(api) == ("yellow", ["valuation-anomaly"])
    price = await api.http.get(
        f"{BASE}/reference-prices/610910/CN/PCE", headers=api.as_risk_manager()
    )
    body = price.json()
    assert (body["hs_code"], body["origin_country"], body["unit"]) == ("610910", "CN", "PCE")
    assert (body["version"], body["unit_price_vnd"]) == (2, "200000.5")


async def test_every_change_bumps_the_version_and_is_audited_before_and_after(
    api: RoutingApi,
) -> None:
    path = f"trader-profiles/{TAX_CODE}"
    first = await put(api, path, {"compliance_level": "high", "priority": True})
    second = await put(api, path, {"compliance_level": "medium"}, **{"If-Match": '"1"'})
    stale = await put(api, path, {"compliance_level": "low"}, **{"If-Match": '"1"'})
    # If-Match compares strongly: the weak form of the current tag matches nothing.
    weak = await put(api, path, {"compliance_level": "low"}, **{"If-Match": 'W/"2"'})

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["version"] == 2
    assert second.headers["etag"] == '"2"'
    assert stale.status_code == weak.status_code == 412
    assert stale.headers["content-type"] == PROBLEM
    current = await api.http.get(f"{BASE}/{path}", headers=api.as_risk_manager())
    assert current.json()["compliance_level"] == "medium"
    assert current.json()["updated_by"] == "risk-manager-1"
    deleted = await api.http.delete(
        f"{BASE}/{path}", headers={**api.as_risk_manager(), "If-Match": '"2"'}
    )
    assert deleted.status_code == 204

    trail = await api.http.get(
        f"{BASE}/audit", params={"subject_prefix": "trader/"}, headers=api.as_risk_manager()
    )
    entries = trail.json()["items"]
    assert [(e["action"], e["detail"]["version"]) for e in entries] == [
        ("risk-input.deleted", 2),
        ("risk-input.updated", 2),
        ("risk-input.created", 1),
    ]
    deleted_entry, updated, created = entries
    assert created["detail"]["before"] is None
    assert created["detail"]["after"]["priority"] is True
    assert updated["detail"]["before"]["compliance_level"] == "high"
    assert updated["detail"]["after"]["compliance_level"] == "medium"
    assert deleted_entry["detail"]["after"] is None
    assert {e["subject"] for e in entries} == {f"trader/{TAX_CODE}"}
    page = await api.http.get(f"{BASE}/audit", params={"limit": 2}, headers=api.as_risk_manager())
    assert page.json()["next_before"] == entries[1]["id"]


async def test_listings_are_paginated_by_key(api: RoutingApi) -> None:
    for code in ("CN", "KP", "SY"):
        assert (
            await put(api, f"risk-lists/countries/{code}", {"level": "high"})
        ).status_code == 201
    first = await api.http.get(
        f"{BASE}/risk-lists/countries", params={"limit": 2}, headers=api.as_risk_manager()
    )
    assert [c["code"] for c in first.json()["items"]] == ["CN", "KP"]
    rest = await api.http.get(
        f"{BASE}/risk-lists/countries",
        params={"limit": 2, "after": first.json()["next_after"]},
        headers=api.as_risk_manager(),
    )
    assert [c["code"] for c in rest.json()["items"]] == ["SY"]
    assert rest.json()["next_after"] is None


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("trader-profiles/0312345670", {"compliance_level": "low"}),  # check digit
        ("trader-profiles/0312345673", {"compliance_level": "excellent"}),
        ("trader-profiles/0312345673", {"compliance_level": "low", "past_violations": -1}),
        ("risk-lists/countries/XX", {"level": "high"}),
        ("risk-lists/countries/cn", {"level": "high"}),
        ("risk-lists/hs-codes/61091", {"level": "high"}),
        ("risk-lists/hs-codes/6109", {"level": "severe"}),
        ("reference-prices/6109/CN/PCE", {"unit_price_vnd": "1"}),
        ("reference-prices/61091000/CN/PCE", {"unit_price_vnd": "0"}),
        ("reference-prices/61091000/CN/pieces", {"unit_price_vnd": "1"}),
    ],
)
async def test_bad_input_is_a_422_problem_and_nothing_is_stored(
    api: RoutingApi, path: str, body: dict[str, Any]
) -> None:
    response = await put(api, path, body)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    trail = await api.http.get(f"{BASE}/audit", headers=api.as_risk_manager())
    assert trail.json()["items"] == []


async def test_traders_and_officers_may_not_change_risk_inputs(api: RoutingApi) -> None:
    path = f"{BASE}/trader-profiles/{TAX_CODE}"
    body = {"compliance_level": "high", "priority": True}
    assert (await api.http.put(path, json=body)).status_code == 401
    broker = api.as_role(Role.BROKER, TAX_CODE, Scope.ROUTING_RULES.value)
    assert (await api.http.put(path, json=body, headers=broker)).status_code == 403
    officer = api.as_role(Role.OFFICER, "customs-hq", Scope.ROUTING_RULES.value)
    assert (await api.http.get(path, headers=officer)).status_code == 403
    assert (await api.http.get(path, headers=api.as_risk_manager())).status_code == 404


async def test_concurrent_first_writes_create_once_and_version_each_change(
    api: RoutingApi,
) -> None:
    path = f"{BASE}/risk-lists/countries/KP"
    responses = await asyncio.gather(
        *(
            api.http.put(path, json={"level": level}, headers=api.as_risk_manager())
            for level in ("low", "medium", "high", "low", "medium")
        )
    )

    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 201]
    assert sorted(r.json()["version"] for r in responses) == [1, 2, 3, 4, 5]
    trail = await api.http.get(
        f"{BASE}/audit", params={"subject_prefix": "country/KP"}, headers=api.as_risk_manager()
    )
    assert [e["detail"]["version"] for e in trail.json()["items"]] == [5, 4, 3, 2, 1]
