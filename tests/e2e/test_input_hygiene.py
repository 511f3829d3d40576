"""Hostile cursors, header bytes and control characters get a 4xx problem, never a 5xx,
and text PostgreSQL cannot store is refused before anything is written."""

from __future__ import annotations

import base64
import json
import socket
import uuid
from datetime import UTC, timedelta, timezone, tzinfo
from typing import Any
from urllib.parse import quote_from_bytes, urlsplit

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.cluster import Cluster
from tests.support.samples import sample

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"
LIST = "/api/v1/declarations"
PROPERTY = settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _old_style_cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode()


def test_forged_cursor_from_the_report_is_a_400_problem(cluster: Cluster) -> None:
    forged = _old_style_cursor("2999-01-01T00:00:00|00000000-0000-0000-0000-000000000000")
    with cluster.client("demo-broker") as client:
        response = client.get(LIST, params={"cursor": forged})
        bare_date = client.get(
            LIST, params={"cursor": _old_style_cursor(f"2999-01-01|{uuid.uuid4()}")}
        )
    for answer in (response, bare_date):
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"] == PROBLEM
        assert answer.json()["type"].endswith("/invalid-cursor")


def test_cursor_is_bound_to_its_tenant_and_filter(cluster: Cluster) -> None:
    with cluster.client("demo-broker") as a, cluster.client("demo-broker-b") as b:
        for _ in range(2):
            assert a.post(LIST, json=sample("declaration-enterprise")).status_code == 202
        first = a.get(LIST, params={"limit": 1}).json()
        cursor = first["next_cursor"]
        assert cursor
        second = a.get(LIST, params={"limit": 1, "cursor": cursor})
        other_tenant = b.get(LIST, params={"limit": 1, "cursor": cursor})
        other_filter = a.get(LIST, params={"limit": 1, "cursor": cursor, "status": "RECEIVED"})
    assert second.status_code == 200
    assert second.json()["items"][0]["id"] != first["items"][0]["id"]
    for refused in (other_tenant, other_filter):
        assert refused.status_code == 400, refused.text
        assert refused.json()["type"].endswith("/invalid-cursor")


# Cursors shaped like the old unsigned ones (any timestamp, aware or not), like signed
# ones, and any bytes.
_zones: st.SearchStrategy[tzinfo | None] = st.one_of(
    st.none(),
    st.just(UTC),
    st.builds(lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-1439, 1439)),
)
_timestamps = st.datetimes(timezones=_zones)
_shaped = st.builds(
    lambda at, ident, date_only: _old_style_cursor(
        f"{at.date().isoformat() if date_only else at.isoformat()}|{ident}"
    ),
    _timestamps,
    st.uuids(),
    st.booleans(),
)
_token_shaped = st.from_regex(r"[A-Za-z0-9_-]{1,120}\.[A-Za-z0-9_-]{43}", fullmatch=True)
_cursors = (_shaped | _token_shaped).map(str.encode) | st.binary(max_size=240)


def test_any_cursor_is_answered_without_5xx(cluster: Cluster) -> None:
    with cluster.client("demo-broker") as client:

        @given(raw=_cursors)
        @PROPERTY
        def check(raw: bytes) -> None:
            response = client.get(f"{LIST}?cursor={quote_from_bytes(raw, safe='')}")
            assert response.status_code < 500, response.text
            if response.status_code >= 400:
                assert response.headers["content-type"] == PROBLEM

        check()


def _raw_get(cluster: Cluster, path: str, headers: list[tuple[bytes, bytes]]) -> int:
    """Status of a GET sent byte for byte (httpx refuses non-ASCII header values)."""
    target = urlsplit(cluster.gateway)
    assert target.hostname is not None
    assert target.port is not None
    lines = [f"GET {path} HTTP/1.1".encode(), f"Host: {target.netloc}".encode()]
    lines += [name + b": " + value for name, value in headers]
    request = b"\r\n".join([*lines, b"Connection: close", b"", b""])
    with socket.create_connection((target.hostname, target.port), timeout=10) as connection:
        connection.sendall(request)
        received = b""
        while b"\r\n" not in received:
            chunk = connection.recv(4096)
            if not chunk:
                break
            received += chunk
    status_line = received.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 "), received
    return int(status_line.split()[1])


FORWARDED = [b"X-Request-ID", b"Accept-Language", b"Idempotency-Key"]
# Any byte but CR and LF, which would end the header line.
_header_values = st.binary(max_size=64).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))


@pytest.mark.parametrize("name", FORWARDED)
def test_any_forwarded_header_bytes_are_answered_without_5xx(cluster: Cluster, name: bytes) -> None:
    bearer = f"Bearer {cluster.token('demo-broker')}".encode()

    @given(value=_header_values)
    @PROPERTY
    def check(value: bytes) -> None:
        status = _raw_get(cluster, LIST, [(b"Authorization", bearer), (name, value)])
        assert status < 500, (name, value, status)

    check()


def test_non_ascii_headers_are_dropped_replaced_or_refused(cluster: Cluster) -> None:
    bearer = f"Bearer {cluster.token('demo-broker')}".encode()
    with cluster.client() as client:
        request_id = client.get(LIST, headers={b"Authorization": bearer, b"X-Request-ID": b"\xe9"})
        language = client.get(LIST, headers={b"Authorization": bearer, b"Accept-Language": b"\xe9"})
        key = client.post(
            LIST,
            json=sample("declaration-enterprise"),
            headers={b"Authorization": bearer, b"Idempotency-Key": b"order-\xe9"},
        )
    assert request_id.status_code == 200, request_id.text
    assert language.status_code == 200, language.text
    assert key.status_code == 400, key.text
    assert key.headers["content-type"] == PROBLEM
    assert key.json()["type"].endswith("/invalid-header")


CONTROLS = ["\x00", "\x01", "\x1b", "\r", "\x7f", "\x85", "\x9b"]
FIELDS = ["name", "description", "unit", "brand"]


def _body(field: str, text: str, marker: str) -> dict[str, Any]:
    body = sample("declaration-enterprise")
    item = body["items"][0]
    item["description"] = marker
    item["brand"] = "Acme"
    target = body["declarant"] if field == "name" else item
    target[field] = f"{marker}{text}x" if field == "description" else f"A{text}B"
    return body


def _stored(cluster: Cluster, marker: str, key: str) -> tuple[int, int]:
    with psycopg.connect(cluster.postgres.url("declarations", driver="postgresql")) as db:
        items = db.execute(
            "SELECT count(*) FROM declaration_items WHERE description LIKE %s", (f"{marker}%",)
        ).fetchone()
        keys = db.execute("SELECT count(*) FROM idempotency_keys WHERE key = %s", (key,)).fetchone()
    assert items is not None
    assert keys is not None
    return items[0], keys[0]


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("control", CONTROLS)
def test_control_characters_in_free_text_are_422_and_nothing_is_stored(
    cluster: Cluster, field: str, control: str
) -> None:
    marker = f"marker-{uuid.uuid4()}"
    key = f"refused-{uuid.uuid4()}"
    with cluster.client("demo-broker") as client:
        response = client.post(
            LIST, json=_body(field, control, marker), headers={"Idempotency-Key": key}
        )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"].endswith("/validation-error")
    assert any(e["loc"][-1] == field and "control character" in e["msg"] for e in problem["errors"])
    assert _stored(cluster, marker, key) == (0, 0)


def test_lone_surrogate_in_free_text_is_422(cluster: Cluster) -> None:
    marker = f"marker-{uuid.uuid4()}"
    plain = json.dumps(_body("brand", "", marker))
    content = plain.replace('"AB"', '"A\\ud800B"')  # an escape json.loads accepts
    assert content != plain
    with cluster.client("demo-broker") as client:
        response = client.post(LIST, content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert _stored(cluster, marker, "-")[0] == 0


def test_tab_and_newline_are_accepted_and_kept(cluster: Cluster) -> None:
    marker = f"marker-{uuid.uuid4()}"
    body = _body("description", "\tknitted\nsecond line", marker)
    body["items"][0]["brand"] = "Acme\tLine\nTwo"
    body["declarant"]["name"] = "Cong ty\tSai Gon\nChi nhanh 1"
    with cluster.client("demo-broker") as client:
        accepted = client.post(LIST, json=body)
        assert accepted.status_code == 202, accepted.text
        stored = client.get(accepted.json()["status_url"]).json()
    assert stored["items"][0]["description"] == f"{marker}\tknitted\nsecond linex"
    assert stored["items"][0]["brand"] == "Acme\tLine\nTwo"
    assert stored["declarant"]["name"] == "Cong ty\tSai Gon\nChi nhanh 1"
