"""/healthz (process alive), /readyz (dependencies answer) and /metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

ReadinessCheck = Callable[[], Awaitable[None]]


class NotReady(Exception):
    """A check's failure whose message names the cause and is safe to show on /readyz
    (other exceptions show their type only: a driver's message may carry addresses)."""


_CHECK_TIMEOUT_SECONDS = 2.0


def health_router(checks: dict[str, ReadinessCheck]) -> APIRouter:
    """Probes are unauthenticated on purpose: kubelet and Prometheus call them from
    inside the cluster. They answer on the internal listener only (the public one
    answers 404), and a NetworkPolicy keeps that port off the edge."""
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await asyncio.wait_for(check(), _CHECK_TIMEOUT_SECONDS)
                results[name] = "ok"
            except NotReady as exc:
                results[name] = f"failed: {exc}"
            except Exception as exc:  # a probe reports every failure, whatever its type
                results[name] = f"failed: {type(exc).__name__}"
        ok = all(v == "ok" for v in results.values())
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "checks": results},
            status_code=200 if ok else 503,
        )

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
