"""`make run`'s cluster (SQLite files, local Kafka) answers the README's curl session
and stops cleanly on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.local.cluster import REPO
from tests.support.cluster import wait_for
from tests.support.partners import PARTNER, push_and_wait_until_handled, sample_origin_certificate

pytestmark = pytest.mark.e2e


def free_port_range(size: int, start: int = 23000) -> int:
    for base in range(start, 60000, 97):
        with_all_free = True
        for port in range(base, base + size):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    with_all_free = False
                    break
        if with_all_free:
            return base
    raise RuntimeError("no free port range")


def test_local_run_serves_the_readme_session_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    base = free_port_range(5)
    internal_base = free_port_range(5, start=base + 5)
    gateway = f"http://127.0.0.1:{base}"
    output = tmp_path / "run.out"
    with output.open("wb") as out:
        runner = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "deploy.local.cluster",
                "--run-dir",
                str(tmp_path / "run"),
                "--kafka-port",
                "auto",
                "--base-port",
                str(base),
                "--internal-base-port",
                str(internal_base),
                "--partitions",
                "2",
            ],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
    try:
        wait_for(lambda: "Cluster ready" in output.read_text(), timeout=90, interval=0.5)
        assert f"Gateway:  {gateway}" in output.read_text()
        assert f"Internal: http://127.0.0.1:{internal_base}/metrics" in output.read_text()
        assert httpx.get(f"{gateway}/metrics").status_code == 404
        assert httpx.get(f"http://127.0.0.1:{internal_base}/metrics").status_code == 200

        # The README's step 0: the e-C/O the enterprise sample's preferential claim needs.
        partner_token = httpx.post(
            f"{gateway}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(PARTNER, f"{PARTNER}-secret"),
        ).json()["access_token"]
        with httpx.Client(
            base_url=gateway, headers={"Authorization": f"Bearer {partner_token}"}
        ) as partner:
            push_and_wait_until_handled(partner, sample_origin_certificate())

        token = httpx.post(
            f"{gateway}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=("demo-broker", "demo-broker-secret"),
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "order-4711"}
        body = json.loads((REPO / "samples" / "declaration-enterprise.json").read_text())
        accepted = httpx.post(f"{gateway}/api/v1/declarations", json=body, headers=headers)
        assert accepted.status_code == 202
        retried = httpx.post(f"{gateway}/api/v1/declarations", json=body, headers=headers)
        assert retried.json()["id"] == accepted.json()["id"]  # the README's idempotent retry
        declaration_id = accepted.json()["id"]
        status_url = gateway + accepted.json()["status_url"]
        # The README promises the lane "less than a second later"; allow a busy machine 5 s.
        declaration = wait_for(
            lambda: (d := httpx.get(status_url, headers=headers).json())["lane"] and d,
            timeout=5,
        )
        assert declaration["lane"] == "yellow"
        assert [r["rule"] for r in declaration["lane_reasons"]] == ["enterprise-signature-missing"]

        # The results arrive on three topics, so their order in the timeline may vary.
        def with_every_result() -> dict[str, Any] | None:
            found: dict[str, Any] = httpx.get(status_url, headers=headers).json()
            events = {e["event"] for e in found["timeline"]}
            return (
                found if {"signature_checked", "ipr_screened", "lane_assigned"} <= events else None
            )

        declaration = wait_for(with_every_result, timeout=5)
        assert declaration["timeline"][0]["event"] == "submitted"
        # Step 4: the other services' views of the same declaration.
        views = {
            path: httpx.get(f"{gateway}/api/v1/{path}/{declaration_id}", headers=headers)
            for path in ("signatures/checks", "ipr/screenings", "routing/decisions")
        }
        assert {path: r.status_code for path, r in views.items()} == dict.fromkeys(views, 200)
        assert views["signatures/checks"].json()["status"] == "missing"
        assert views["routing/decisions"].json()["lane"] == "yellow"
        assert (tmp_path / "run" / "declarations.db").exists()
    finally:
        runner.send_signal(signal.SIGINT)
        code = runner.wait(timeout=60)
    text = output.read_text()
    assert code == 0, text[-2000:]
    assert "Cluster stopped." in text
    for log in (tmp_path / "run" / "logs").glob("*.log"):
        assert "Application shutdown complete." in log.read_text(), log.name
