"""The four endpoints of a risk input kept under one key (a trader's tax code, a country,
an HS code): PUT (create or replace, If-Match), GET, DELETE and a listing, made once for
each kind by :func:`keyed_input_routes`.

No ``from __future__ import annotations`` here: the endpoints' parameter types come from
the factory's arguments, and FastAPI must see them as objects, not strings."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response, status
from pydantic import BaseModel

from customs_shared.auth import RISK_MANAGERS, Principal, Scope, allow
from customs_shared.db import DbSession
from customs_shared.problems import Forbidden, Unauthorized, problem_responses
from routing_svc.risk import service
from routing_svc.risk.errors import RiskInputNotFound, VersionMismatch
from routing_svc.risk.models import RiskInput

RiskManager = Annotated[Principal, allow(Scope.ROUTING_RULES, RISK_MANAGERS)]
IfMatch = Annotated[
    str | None,
    Header(description="The version the change is based on; 412 if it is no longer current."),
]
After = Annotated[str | None, Query(max_length=64, description="next_after of the last page")]
Limit = Annotated[int, Query(ge=1, le=200)]
READ = problem_responses(Unauthorized, Forbidden, RiskInputNotFound)
DELETE = problem_responses(Unauthorized, Forbidden, RiskInputNotFound, VersionMismatch)
LIST = problem_responses(Unauthorized, Forbidden)


def written(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """A PUT's answers: 200 with the next version, or 201 when it created the input."""
    return {
        status.HTTP_201_CREATED: {"model": model, "description": "Created, at version 1."},
        **problem_responses(Unauthorized, Forbidden, VersionMismatch),
    }


def version(if_match: str | None) -> int | None:
    """The version an If-Match names (``"3"``, or bare ``3``); -1 (matching nothing) for
    anything else, so a garbled precondition fails rather than passes. If-Match compares
    strongly (RFC 9110 §13.1.1): a weak tag (``W/"3"``) matches nothing."""
    if if_match is None:
        return None
    tag = if_match.strip().strip('"')
    return int(tag) if tag.isdigit() and len(tag) < 10 else -1


def fields(row: RiskInput) -> dict[str, Any]:
    return {
        **row.value,
        "version": row.version,
        "updated_by": row.updated_by,
        "updated_at": row.updated_at,
    }


def etag(response: Response, row: RiskInput) -> None:
    response.headers["ETag"] = f'"{row.version}"'


async def put(
    session: DbSession,
    principal: Principal,
    response: Response,
    kind: str,
    key: str,
    value: dict[str, Any],
    if_match: str | None,
) -> RiskInput:
    stored = await service.put(session, principal, kind, key, value, if_match=version(if_match))
    if stored.created:
        response.status_code = status.HTTP_201_CREATED
    etag(response, stored.row)
    return stored.row


async def get(session: DbSession, response: Response, kind: str, key: str) -> RiskInput:
    row = await service.get(session, kind, key)
    etag(response, row)
    return row


def next_after(rows: list[RiskInput], limit: int) -> str | None:
    return rows[-1].key if len(rows) == limit else None


def keyed_input_routes(
    router: APIRouter,
    *,
    path: str,
    kind: str,
    key_name: str,
    key_type: Any,
    body: type[BaseModel],
    out: type[BaseModel],
    page: type[BaseModel],
    name: str,
    summaries: dict[str, str],
) -> None:
    """Adds ``PUT·GET·DELETE {path}/{key_name}`` and ``GET {path}`` for one kind of input:
    operations ``put_<name>``, ``get_<name>``, ``delete_<name>``, ``list_<name>s``, with
    ``summaries`` for put, get, delete and list."""
    Key = Annotated[key_type, Path(alias=key_name)]

    def shown(row: RiskInput) -> Any:
        return out.model_validate({**fields(row), key_name: row.key})

    def named(endpoint: Callable[..., Any], operation: str) -> Callable[..., Any]:
        endpoint.__name__ = operation
        return endpoint

    async def put_input(
        key: Key,
        payload: body,  # type: ignore[valid-type]  # the kind's own model
        response: Response,
        principal: RiskManager,
        session: DbSession,
        if_match: IfMatch = None,
    ) -> Any:
        value = BaseModel.model_dump(payload, mode="json")
        return shown(await put(session, principal, response, kind, key, value, if_match))

    async def get_input(
        key: Key, response: Response, principal: RiskManager, session: DbSession
    ) -> Any:
        return shown(await get(session, response, kind, key))

    async def delete_input(
        key: Key, principal: RiskManager, session: DbSession, if_match: IfMatch = None
    ) -> None:
        await service.delete(session, principal, kind, key, if_match=version(if_match))

    async def list_inputs(
        principal: RiskManager, session: DbSession, after: After = None, limit: Limit = 50
    ) -> Any:
        rows = list(await service.page(session, kind, after=after, limit=limit))
        return page.model_validate(
            {"items": [shown(r) for r in rows], "next_after": next_after(rows, limit)}
        )

    item = f"{path}/{{{key_name}}}"
    router.add_api_route(
        item,
        named(put_input, f"put_{name}"),
        methods=["PUT"],
        response_model=out,
        responses=written(out),
        summary=summaries["put"],
    )
    router.add_api_route(
        item,
        named(get_input, f"get_{name}"),
        methods=["GET"],
        response_model=out,
        responses=READ,
        summary=summaries["get"],
    )
    router.add_api_route(
        item,
        named(delete_input, f"delete_{name}"),
        methods=["DELETE"],
        status_code=status.HTTP_204_NO_CONTENT,
        responses=DELETE,
        summary=summaries["delete"],
    )
    router.add_api_route(
        path,
        named(list_inputs, f"list_{name}s"),
        methods=["GET"],
        response_model=page,
        responses=LIST,
        summary=summaries["list"],
    )
