"""The dashboard and the alert rules name only metrics that running services export,
read from their live /metrics pages."""

from __future__ import annotations

import httpx
import pytest

from customs_shared.services import SERVICES
from tests.deploy.test_observability import expressions
from tests.e2e.test_declaration_flow import submit, wait_for_lane
from tests.support.cluster import Cluster
from tests.support.promql import exported_names, metric_names
from tests.support.samples import sample

pytestmark = pytest.mark.e2e


def test_every_metric_the_dashboard_and_rules_name_is_scraped_from_a_service(
    cluster: Cluster,
) -> None:
    exported: dict[str, set[str]] = {}
    for spec in SERVICES:
        page = httpx.get(f"{cluster.internal_url(spec.name)}/metrics", timeout=10)
        assert page.status_code == 200
        exported[spec.name] = exported_names(page.text)
    scraped = set().union(*exported.values())
    for expr in expressions():
        missing = metric_names(expr) - scraped
        assert not missing, f"{expr} names {missing}, which no service exports"
    assert "declarations_laned_total" in exported["declaration-svc"]
    assert "consumer_lag_records" in exported["routing-svc"]
    assert "signature_crl_next_update_timestamp_seconds" in exported["signature-svc"]


def test_a_laned_declaration_is_counted_with_its_submission_to_lane_time(
    cluster: Cluster,
) -> None:
    def samples() -> dict[str, float]:
        page = httpx.get(f"{cluster.internal_url('declaration-svc')}/metrics", timeout=10).text
        values = {}
        for line in page.splitlines():
            if line.startswith(("declarations_laned_total", "declaration_submission_to_lane")):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        return values

    before = samples()
    with cluster.client("demo-broker") as client:
        created = submit(client, sample("declaration-enterprise"), **{"Idempotency-Key": "obs-1"})
        assert created.status_code == 202
        lane = wait_for_lane(client, created.json()["id"])["lane"]
    after = samples()
    counted = f'declarations_laned_total{{lane="{lane}"}}'
    timed = f'declaration_submission_to_lane_seconds_count{{lane="{lane}"}}'
    assert after[counted] == before.get(counted, 0) + 1
    assert after[timed] == before.get(timed, 0) + 1
