"""Slow and oversized clients, and what each process serves on which port, against the
real processes (the cluster runs with short read timeouts, see conftest.py)."""

from __future__ import annotations

import json
import re
import uuid

import httpx
import pytest

from customs_shared.services import SERVICES
from tests.support.cluster import Cluster
from tests.support.rawhttp import exchange, request
from tests.support.samples import sample

pytestmark = pytest.mark.e2e

ALL = [spec.name for spec in SERVICES]
PREFIX = {spec.name: spec.prefix for spec in SERVICES}
MARGIN = 2.0  # seconds of slack for a busy machine


def setting(cluster: Cluster, service: str, name: str) -> float:
    return float(cluster.processes[service].env[PREFIX[service] + name])


def public_port(cluster: Cluster, service: str) -> int:
    return cluster.processes[service].port


# --- the request head -----------------------------------------------------------------


@pytest.mark.parametrize("service", ALL)
def test_headers_sent_one_line_at_a_time_are_cut_off(cluster: Cluster, service: str) -> None:
    timeout = setting(cluster, service, "HEADER_READ_TIMEOUT_SECONDS")
    lines = [b"GET /api/v1/declarations HTTP/1.1\r\n"] + [
        b"X-Slow-%d: 1\r\n" % i for i in range(40)
    ]

    answer = exchange(public_port(cluster, service), lines, gap=0.5, wait=timeout + MARGIN)

    assert answer.status in (408, None)
    assert answer.closed
    assert answer.elapsed < timeout + MARGIN


@pytest.mark.parametrize("service", ALL)
def test_a_header_over_16_kib_gets_431(cluster: Cluster, service: str) -> None:
    raw = request("GET", "/api/v1/declarations", [("X-Big", "a" * 16_385)])

    answer = exchange(public_port(cluster, service), [raw])

    assert answer.status == 431
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.closed


@pytest.mark.parametrize("service", ALL)
def test_101_headers_get_431(cluster: Cluster, service: str) -> None:
    headers = [(f"X-H{i}", "v") for i in range(100)]  # and Host

    answer = exchange(public_port(cluster, service), [request("GET", "/healthz", headers)])

    assert answer.status == 431


def test_a_request_with_95_short_headers_is_served(cluster: Cluster) -> None:
    token = cluster.token("demo-broker")
    headers = [("Authorization", f"Bearer {token}")] + [(f"X-H{i}", "v") for i in range(93)]

    answer = exchange(
        public_port(cluster, "gateway"), [request("GET", "/api/v1/declarations", headers)]
    )

    assert answer.status == 200
    assert "items" in json.loads(answer.body)


# --- the body, through the gateway ----------------------------------------------------


def _aborted_uploads(cluster: Cluster) -> float:
    metrics = httpx.get(f"{cluster.internal_url('gateway')}/metrics", timeout=10).text
    pattern = (
        r'^gateway_upstream_requests_total\{outcome="client-aborted",'
        r'upstream="declarations"\} (\S+)$'
    )
    found = re.search(pattern, metrics, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_a_body_trickled_through_the_gateway_is_refused_and_released(cluster: Cluster) -> None:
    total = setting(cluster, "gateway", "BODY_TOTAL_TIMEOUT_SECONDS")
    body = json.dumps(sample("declaration-enterprise")).encode()
    head = request(
        "POST",
        "/api/v1/declarations",
        [
            ("Authorization", f"Bearer {cluster.token('demo-broker')}"),
            ("Content-Type", "application/json"),
            ("Idempotency-Key", f"slow-{uuid.uuid4()}"),
            ("Content-Length", str(len(body))),
        ],
    )
    aborted_before = _aborted_uploads(cluster)
    # One byte every 0.5 s: never idle for long, but never done in time either.
    pieces = [head, *(body[i : i + 1] for i in range(len(body)))]

    answer = exchange(public_port(cluster, "gateway"), pieces, gap=0.5, wait=total + MARGIN)

    assert answer.status == 408
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.closed
    assert answer.elapsed < total + MARGIN
    # The gateway gave the request up (a small body is read before it is forwarded, a
    # large one streamed and its upload aborted) rather than leaving it hanging.
    assert _aborted_uploads(cluster) == aborted_before + 1


# --- ports ----------------------------------------------------------------------------


@pytest.mark.parametrize("service", ALL)
@pytest.mark.parametrize("path", ["/metrics", "/readyz", "/healthz", "/docs", "/openapi.json"])
def test_internal_paths_only_on_the_internal_port(
    cluster: Cluster, service: str, path: str
) -> None:
    public = httpx.get(cluster.url(service) + path, timeout=10)
    internal = httpx.get(cluster.internal_url(service) + path, timeout=10)

    assert public.status_code == 404
    assert public.headers["content-type"] == "application/problem+json"
    assert internal.status_code == 200


API_PATHS = {
    "gateway": "/.well-known/jwks.json",
    "declaration-svc": "/api/v1/declarations",
    "signature-svc": f"/api/v1/signatures/checks/{uuid.uuid4()}",
    "ipr-svc": f"/api/v1/ipr/screenings/{uuid.uuid4()}",
    "routing-svc": f"/api/v1/routing/decisions/{uuid.uuid4()}",
}


@pytest.mark.parametrize("service", ALL)
def test_the_api_is_not_on_the_internal_port(cluster: Cluster, service: str) -> None:
    path = API_PATHS[service]

    public = httpx.get(cluster.url(service) + path, timeout=10)
    internal = httpx.get(cluster.internal_url(service) + path, timeout=10)

    assert public.status_code == (200 if service == "gateway" else 401)  # no token sent
    assert internal.status_code == 404


# --- response headers -----------------------------------------------------------------


@pytest.mark.parametrize("service", ALL)
def test_api_responses_name_no_server_and_are_not_cached(cluster: Cluster, service: str) -> None:
    token = cluster.token("demo-broker")

    response = httpx.get(
        cluster.url(service) + "/api/v1/declarations",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )

    assert response.status_code in (200, 404)  # 404: that service has no such route
    assert "server" not in response.headers
    assert response.headers["cache-control"] == "no-store"
