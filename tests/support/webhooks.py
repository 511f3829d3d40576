"""A webhook subscriber's endpoint for tests: a real HTTP server on a loopback port."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from customs_shared.notifications.sealing import SecretSealer
from customs_shared.notifications.service import DeliveryPolicy
from tests.support.ports import free_port


def delivery_policy(**overrides: Any) -> DeliveryPolicy:
    """The webhook delivery policy of the tests: loopback targets allowed, retries from
    1 s up to 60 s, disabled after 5 failures; ``overrides`` replace any field."""
    policy = DeliveryPolicy(
        allow_private_targets=True,
        retry_base=timedelta(seconds=1),
        retry_cap=timedelta(seconds=60),
        max_failures=5,
        sealer=SecretSealer("k" * 32),
    )
    return dataclasses.replace(policy, **overrides)


class Receiver:
    """A subscriber's endpoint on a free loopback port: records each POST; with a gate,
    holds every request until the gate opens."""

    def __init__(self, *, delay: float = 0.0, gate: threading.Event | None = None) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.port = free_port()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                if gate is not None:
                    gate.wait(10)
                elif delay:
                    threading.Event().wait(delay)
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def ids(self) -> list[str]:
        return [headers["webhook-id"] for headers, _ in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
