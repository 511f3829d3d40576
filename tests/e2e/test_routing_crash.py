"""A routing pod dies (SIGKILL) with declarations in flight: after restart each
declaration still gets exactly one lane."""

from __future__ import annotations

import time
from collections import defaultdict

import psycopg
import pytest

from tests.support.cluster import Cluster, wait_for
from tests.support.samples import sample
from tests.support.topics import read_topic

pytestmark = pytest.mark.e2e

DECLARATIONS = 40


def test_sigkilled_router_assigns_exactly_one_lane_each_after_restart(cluster: Cluster) -> None:
    router = cluster.processes["routing-svc"]
    ids: list[str] = []
    with cluster.client("demo-broker") as client:
        for n in range(DECLARATIONS):
            response = client.post("/api/v1/declarations", json=sample("declaration-individual"))
            assert response.status_code == 202
            ids.append(response.json()["id"])
            if n == DECLARATIONS // 2:
                router.kill()  # mid-stream: some decided, some half-screened, some not seen
        killed_at = time.monotonic()
        time.sleep(1.0)
        cluster.restart("routing-svc")

        def all_laned() -> bool:
            return all(client.get(f"/api/v1/declarations/{i}").json()["lane"] for i in ids)

        wait_for(all_laned, timeout=60, interval=0.5)
        recovered_in = time.monotonic() - killed_at
        declarations = [client.get(f"/api/v1/declarations/{i}").json() for i in ids]

    for declaration in declarations:
        lane_entries = [t for t in declaration["timeline"] if t["event"] == "lane_assigned"]
        assert len(lane_entries) == 1, declaration["id"]
        assert declaration["status"] == f"LANE_{declaration['lane'].upper()}"

    with psycopg.connect(cluster.postgres.url("routing", driver="postgresql")) as db:
        rows = db.execute(
            "SELECT declaration_id::text, count(*) FROM lane_decisions "
            "WHERE declaration_id::text = ANY(%s) GROUP BY declaration_id",
            (ids,),
        ).fetchall()
    assert len(rows) == DECLARATIONS
    assert all(count == 1 for _, count in rows)

    event_ids: dict[str, set[str]] = defaultdict(set)
    for record in read_topic(cluster.kafka_bootstrap, "customs.lanes.v1"):
        if record.key in ids:
            event_ids[record.key].add(record.json()["id"])
    # At-least-once publication may repeat a record, but it is always the same event.
    assert set(event_ids) == set(ids)
    assert all(len(v) == 1 for v in event_ids.values())
    assert recovered_in < 60
