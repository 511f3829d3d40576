"""No endpoint dependency is a plain function: FastAPI runs those in a worker thread, a
thread hop on every request for what is a dictionary lookup (it was most of the token
endpoint's cost)."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from customs_shared.services import SERVICES


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every endpoint, into included routers (kept as routers by FastAPI)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _routes(route.original_router.routes)


def _is_async(call: Callable[..., Any]) -> bool:
    # A security scheme is an instance whose __call__ is the coroutine.
    target: Any = (
        call if inspect.isfunction(call) or inspect.ismethod(call) else type(call).__call__
    )
    return inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)


@pytest.mark.parametrize("package", [spec.package for spec in SERVICES])
def test_every_dependency_of_every_endpoint_is_async(package: str) -> None:
    app = importlib.import_module(f"{package}.main").create_app()
    routes = list(_routes(app.routes))
    assert routes
    sync = {
        f"{call.__module__}.{getattr(call, '__qualname__', call)}"
        for route in routes
        for call in _calls(route.dependant)
        if not _is_async(call)
    }
    assert sync == set(), "make these `async def`: FastAPI runs sync dependencies in threads"
