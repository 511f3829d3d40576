"""The Grafana dashboard and the Prometheus rules: valid structure, and only metrics the
services export (the live scrape is tests/e2e/test_observability_metrics.py)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY, generate_latest

import declaration_svc.declarations.metrics
import gateway.metrics
import signature_svc.metrics
from tests.support.manifests import ROOT
from tests.support.promql import exported_names, metric_names

OBSERVABILITY = ROOT / "deploy" / "observability"
DURATION = re.compile(r"^\d+[smhd]$")


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((OBSERVABILITY / "grafana-dashboard.json").read_text())
    return loaded


def rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load((OBSERVABILITY / "prometheus-rules.yaml").read_text())
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def expressions() -> list[str]:
    panels = [t["expr"] for p in dashboard()["panels"] for t in p["targets"]]
    return panels + [rule["expr"] for rule in rules()]


def test_the_dashboard_is_a_grafana_dashboard_with_the_panels_operators_need() -> None:
    board = dashboard()
    assert board["uid"]
    assert isinstance(board["schemaVersion"], int)
    panels = board["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    titles = " | ".join(p["title"].lower() for p in panels)
    for needed in ("lanes per minute", "submission to lane", "consumer lag", "error rate",
                   "latency per service", "dead-lettered"):  # fmt: skip
        assert needed in titles
    variables = {v["name"] for v in board["templating"]["list"]}
    for panel in panels:
        assert set(panel["gridPos"]) == {"x", "y", "w", "h"}
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        assert panel["datasource"]["uid"] == "${datasource}"
        assert panel["targets"]
        for target in panel["targets"]:
            assert _balanced(target["expr"])
            used = set(re.findall(r"\$(\w+)", target["expr"]))
            assert used <= variables


def test_the_rules_are_prometheus_alerting_rules() -> None:
    loaded = yaml.safe_load((OBSERVABILITY / "prometheus-rules.yaml").read_text())
    assert set(loaded) == {"groups"}
    names = [group["name"] for group in loaded["groups"]]
    assert len(names) == len(set(names))
    alerts = rules()
    assert len({r["alert"] for r in alerts}) == len(alerts)
    for rule in alerts:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}
        assert re.fullmatch(r"[A-Z][A-Za-z]+", rule["alert"])
        assert _balanced(rule["expr"])
        assert DURATION.match(rule.get("for", "0s"))
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert {"summary", "description"} <= set(rule["annotations"])
    covered = " ".join(r["expr"] for r in alerts)
    for needed in ("consumer_lag_records", "http_requests_total", "dead_lettered",
                   "outbox_pending_events"):  # fmt: skip
        assert needed in covered


def test_they_name_only_metrics_the_code_registers() -> None:
    assert declaration_svc.declarations.metrics.LANES
    assert gateway.metrics.UPSTREAM_REQUESTS
    assert signature_svc.metrics.CRL_NEXT_UPDATE
    registered = exported_names(generate_latest(REGISTRY).decode())
    named = set().union(*(metric_names(e) for e in expressions()))
    assert len(named) >= 10
    assert named <= registered, named - registered


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        (
            'sum by (container, le) (rate(http_request_duration_seconds_bucket{a="b"}[5m]))',
            {"http_request_duration_seconds_bucket"},
        ),
        ("a_total / on(x) group_left b > bool 1", {"a_total", "b"}),
        ('histogram_quantile(0.95, x{l=~"5.."}) and y offset 5m', {"x", "y"}),
    ],
)
def test_metric_names_are_read_from_promql(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def _balanced(expr: str) -> bool:
    depth = 0
    for char in re.sub(r'"(?:[^"\\]|\\.)*"', "", expr):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0
