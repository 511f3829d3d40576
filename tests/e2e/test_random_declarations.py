"""Random declarations, from plausible to broken, sent to declaration-svc itself: each
is accepted (202) or refused with a 4xx problem, never a 5xx."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.cluster import Cluster
from tests.support.samples import sample

pytestmark = pytest.mark.e2e

HS = ["61091000", "64041900", "85171300", "85258010", "99999999", "0101", "6109100A"]
COUNTRIES = ["CN", "VN", "US", "QQ", "cn", "", "XK"]
CURRENCIES = ["VND", "USD", "EUR", "XXQ", "XXX", "vnd", "NZD"]
UNITS = ["PCE", "KGM", "PR", "PIECES", "", "\x00"]
DATES = ["2026-01-15", "2099-01-01", "2026-02-30", "yesterday"]
MONEY = st.one_of(
    st.sampled_from(["0", "1", "96000000", "-5", "1e30", "0.00001", "NaN", "Infinity"]),
    st.decimals(min_value=0, max_value=10**12, places=2, allow_nan=False).map(str),
)


@st.composite
def items(draw: st.DrawFn) -> dict[str, Any]:
    item: dict[str, Any] = {
        "hs_code": draw(st.sampled_from(HS)),
        "description": draw(st.text(min_size=0, max_size=40)),
        "origin_country": draw(st.sampled_from(COUNTRIES)),
        "quantity": draw(MONEY),
        "unit": draw(st.sampled_from(UNITS)),
        "customs_value": draw(MONEY),
    }
    if draw(st.booleans()):
        item["unit_price"] = draw(MONEY)
    if draw(st.booleans()):
        item["preferential_origin"] = {
            "form": draw(st.sampled_from(["E", "D", "EUR.1", "e form"])),
            "certificate_number": draw(st.text(max_size=20)),
        }
    return item


@st.composite
def declarations(draw: st.DrawFn) -> dict[str, Any]:
    body = sample("declaration-enterprise")
    body["currency"] = draw(st.sampled_from(CURRENCIES))
    body["items"] = draw(st.lists(items(), min_size=0, max_size=4))
    body["incoterm"] = draw(st.sampled_from(["CIF", "FOB", "DAT", None, 7]))
    body["invoice"]["date"] = draw(st.sampled_from(DATES))
    body["invoice"]["total"] = draw(MONEY)
    body["countries"]["origin"] = draw(st.sampled_from(COUNTRIES))
    body["transport"]["mode"] = draw(st.sampled_from(["sea", "air", "teleport"]))
    for optional in ("broker", "transport", "countries", "invoice"):
        if draw(st.booleans()):
            del body[optional]
    return body


def test_random_declarations_are_accepted_or_4xx_never_5xx(cluster: Cluster) -> None:
    token = cluster.token("demo-broker")
    statuses: set[int] = set()
    with httpx.Client(
        base_url=cluster.url("declaration-svc"),
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ) as client:

        @given(body=declarations())
        @settings(
            max_examples=120,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def send(body: dict[str, Any]) -> None:
            response = client.post("/api/v1/declarations", json=body)
            statuses.add(response.status_code)
            assert response.status_code < 500, response.text
            if response.status_code != 202:
                assert response.headers["content-type"] == "application/problem+json"

        send()
    assert 422 in statuses
