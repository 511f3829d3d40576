"""Webhooks through the gateway: a receiver that is down at first and comes back gets
every event once, signed per Standard Webhooks; the pull queue has the same events."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from tests.e2e.test_declaration_flow import submit, wait_for_lane
from tests.support.cluster import Cluster, wait_for
from tests.support.ports import free_port
from tests.support.samples import sample

pytestmark = pytest.mark.e2e

HOOKS = "/api/v1/declarations/webhooks"
LANE_EVENTS = {"declaration.submitted", "declaration.lane_assigned"}


class Receiver:
    """A broker's endpoint: records what it is sent (headers and body)."""

    def __init__(self, port: int) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _pull_all(client: httpx.Client) -> list[dict[str, Any]]:
    """Every notification of the tenant, page by page (other tests add theirs too)."""
    items: list[dict[str, Any]] = []
    params: dict[str, str | int] = {"limit": 100}
    for _ in range(1000):
        page = client.get("/api/v1/declarations/notifications", params=params).json()
        items += page["items"]
        if not page["items"] or page["next_cursor"] is None:
            return items
        params = {"limit": 100, "after": page["next_cursor"]}
    raise AssertionError("the pull queue did not end")


def test_a_receiver_down_at_first_gets_every_event_once_verified(cluster: Cluster) -> None:
    port = free_port()
    with cluster.client("demo-broker") as client:
        created = client.post(
            HOOKS,
            json={"url": f"http://127.0.0.1:{port}/hook", "event_types": sorted(LANE_EVENTS)},
        )
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]
        ids = [submit(client, sample("declaration-individual")).json()["id"] for _ in range(2)]
        for declaration_id in ids:
            wait_for_lane(client, declaration_id)
        time.sleep(2)  # deliveries fail meanwhile: nothing listens on the port
        listed = client.get(HOOKS).json()
        pulled = _pull_all(client)
    assert listed[0]["consecutive_failures"] >= 1
    assert "secret" not in listed[0]
    receiver = Receiver(port)
    try:
        expected = {(t, i) for t in LANE_EVENTS for i in ids}

        def all_in() -> bool | None:
            return len(receiver.received) >= len(expected) or None

        wait_for(all_in, 40)
        time.sleep(1.5)  # anything sent twice would arrive by now
    finally:
        receiver.stop()
    verifier = Webhook(secret)
    seen = []
    for headers, body in receiver.received:
        payload = verifier.verify(body, headers)
        seen.append((payload["type"], payload["data"]["declaration_id"]))
    assert sorted(seen) == sorted(expected)  # each once, and only the subscribed types
    pulled_types = {(n["type"], n["data"]["declaration_id"]) for n in pulled}
    assert expected <= pulled_types


def test_subscriptions_are_the_tenants_own(cluster: Cluster) -> None:
    with cluster.client("demo-broker") as client:
        created = client.post(HOOKS, json={"url": "http://127.0.0.1:9/x"}).json()
    with cluster.client("demo-broker-b") as other:
        listed = other.get(HOOKS).json()
        deleted = other.delete(f"{HOOKS}/{created['id']}")
        enabled = other.post(f"{HOOKS}/{created['id']}/enable")
    with cluster.client("demo-broker") as client:
        own_delete = client.delete(f"{HOOKS}/{created['id']}")
    assert created["id"] not in [s["id"] for s in listed]
    assert deleted.status_code == 404
    assert enabled.status_code == 404
    assert own_delete.status_code == 204
