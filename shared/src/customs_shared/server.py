"""Runs a service under uvicorn: one process, two listeners, graceful shutdown."""

from __future__ import annotations

import gc
import socket

import uvicorn
from starlette.types import ASGIApp

from customs_shared.protocol import HeadLimits, limited_protocol
from customs_shared.settings import ServerSettings

# How long a server keeps an idle connection open. A client that pools connections to a
# server of the cluster (the gateway's forwarding) must let them go sooner: a request sent
# on a connection the server closes at that very moment fails with a read error (a 502).
KEEP_ALIVE_SECONDS = 5


# How many new container objects (net of those freed) start a young-generation collection;
# CPython's 700 collected declaration-svc's youngest objects about 60 times a second under
# load, and the older generations in proportion: 7.5 % of its CPU and of the gateway's,
# measured with gc.callbacks during `make bench BENCH=e2e`. At 20,000 that is under 2 %
# (about one collection a second, a few milliseconds each), for a few MB more of young
# objects. The older generations keep CPython's ratios.
YOUNG_COLLECTION_THRESHOLD = 20_000


def freeze_heap() -> None:
    """Moves everything start-up allocated (modules, apps, pools, compiled rules) out of
    the garbage collector's sight: those objects live as long as the process, and
    scanning them again on every full collection cost about 6 % of a busy service. Then
    collects young objects less often (YOUNG_COLLECTION_THRESHOLD)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, old)


def listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def uvicorn_config(
    app: str | ASGIApp, settings: ServerSettings, *, factory: bool = True
) -> uvicorn.Config:
    """``app`` is ``module:factory`` (or, with ``factory=False``, the app itself)."""
    limits = HeadLimits(
        header_read_timeout=settings.header_read_timeout_seconds,
        max_header_bytes=settings.max_header_bytes,
        max_headers=settings.max_headers,
    )
    return uvicorn.Config(
        app,
        factory=factory,
        host=settings.host,
        port=settings.port,
        http=limited_protocol(limits),
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=True,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        lifespan="on",
    )


def serve(app: str, settings: ServerSettings) -> None:
    """``app`` is ``module:factory``. One server listens on the public port and on the
    internal one; the app tells them apart by the port (``scope["server"]``), see
    ``customs_shared.middleware.ListenerSplitMiddleware``.

    SIGTERM lets in-flight requests finish (for up to ``shutdown_grace_seconds``), then
    the lifespan stops the consumer (committing its offsets) and flushes the outbox."""
    sockets = [
        listening_socket(settings.host, settings.port),
        listening_socket(settings.internal_host or settings.host, settings.internal_port),
    ]
    uvicorn.Server(uvicorn_config(app, settings)).run(sockets=sockets)
