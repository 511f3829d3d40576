"""RFC 9457 problem details: one error hierarchy for every service."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from customs_shared.context import request_id_var
from customs_shared.outage import is_outage
from customs_shared.security_headers import security_headers

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://customs.example/problems/"

log = logging.getLogger(__name__)


class Problem(BaseModel):
    """The body of every error response (RFC 9457)."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None


class ProblemError(Exception):
    """Base of all errors a service raises on purpose; rendered as problem+json."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.extensions = extensions

    @classmethod
    def type_uri(cls) -> str:
        return PROBLEM_TYPE_BASE + cls.slug

    def headers(self) -> dict[str, str] | None:
        """Response headers the error calls for."""
        retry_after = self.extensions.get("retry_after")
        return {"Retry-After": str(retry_after)} if retry_after is not None else None


class BadRequest(ProblemError):
    status = 400
    slug = "bad-request"
    title = "Bad request"


class InvalidCursor(BadRequest):
    slug = "invalid-cursor"
    title = "The page cursor is not valid"


class Unauthorized(ProblemError):
    status = 401
    slug = "unauthorized"
    title = "Authentication required"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(ProblemError):
    status = 403
    slug = "forbidden"
    title = "Not allowed"


class InsufficientScope(Forbidden):
    """The token lacks the scope the endpoint needs (RFC 6750 §3.1)."""

    slug = "insufficient-scope"
    title = "Insufficient scope"

    def __init__(self, scope: str) -> None:
        super().__init__(f"This endpoint needs a token with the scope {scope!r}.", scope=scope)
        self.scope = scope

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{self.scope}"'}


class NotFound(ProblemError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(ProblemError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class RequestTimeout(ProblemError):
    status = 408
    slug = "request-timeout"
    title = "Request not received in time"


class PayloadTooLarge(ProblemError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


class UnprocessableContent(ProblemError):
    status = 422
    slug = "validation-error"
    title = "Request is not valid"


class HeaderFieldsTooLarge(ProblemError):
    status = 431
    slug = "header-fields-too-large"
    title = "Request header fields too large"


class TooManyRequests(ProblemError):
    status = 429
    slug = "rate-limited"
    title = "Too many requests"


class ServiceUnavailable(ProblemError):
    status = 503
    slug = "unavailable"
    title = "Service unavailable"


class BadGateway(ProblemError):
    status = 502
    slug = "bad-gateway"
    title = "Upstream service failed"


def problem_response(
    status: int,
    title: str,
    *,
    type_uri: str = "about:blank",
    detail: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body = Problem(
        type=type_uri,
        title=title,
        status=status,
        detail=detail,
        instance=instance,
        request_id=request_id_var.get(),
        **extensions,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True, mode="json"),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def problem_responses(*errors: type[ProblemError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for the errors an endpoint may raise. Request
    validation (422) is always listed, as the problem it really is, not FastAPI's
    default body."""
    if not any(e.status == UnprocessableContent.status for e in errors):
        errors = (*errors, UnprocessableContent)
    return {
        e.status: {
            "model": Problem,
            "description": e.title,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for e in errors
    }


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        exc.status,
        exc.title,
        type_uri=exc.type_uri(),
        detail=exc.detail,
        instance=request.url.path,
        headers=exc.headers(),
        **exc.extensions,
    )


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
        for e in exc.errors()
    ]
    return problem_response(
        422,
        UnprocessableContent.title,
        type_uri=UnprocessableContent.type_uri(),
        detail="The request body, path or query does not match the schema.",
        instance=request.url.path,
        errors=errors,
    )


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc.__cause__, UnicodeDecodeError):
        # FastAPI answers a JSON body that is not UTF-8 with a bare 400: it is no more JSON
        # than a syntax error, which is a 422 (json_invalid) on every operation.
        invalid = {"type": "json_invalid", "loc": ("body",), "msg": "JSON decode error: not UTF-8"}
        return await _on_validation(request, RequestValidationError([invalid]))
    headers = dict(exc.headers) if exc.headers else None
    return problem_response(
        exc.status_code,
        str(exc.detail) if exc.detail else "HTTP error",
        instance=request.url.path,
        headers=headers,
    )


async def _on_disconnect(request: Request, exc: Exception) -> JSONResponse:
    # The caller left (or stalled, see RequestContextMiddleware) before its body ended.
    return problem_response(
        400,
        BadRequest.title,
        type_uri=BadRequest.type_uri(),
        detail="The request body ended before it was complete.",
        instance=request.url.path,
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Answered outside every middleware (Starlette's error middleware is outermost), so
    # the headers the middleware would add are set here.
    hsts = bool(getattr(request.app.state, "hsts", False))
    headers = {name.decode(): value.decode() for name, value in security_headers(hsts=hsts)}
    headers["cache-control"] = "no-store"
    request_id = request_id_var.get()
    if request_id:
        headers["x-request-id"] = request_id
    if is_outage(exc):
        # The database (or another dependency) is down or restarting: the client's retry
        # will do, so say when instead of reporting a fault.
        log.warning("dependency unavailable", extra={"path": request.url.path, "error": repr(exc)})
        unavailable = ServiceUnavailable(
            "A dependency of this service is unavailable; retry shortly.", retry_after=1
        )
        response = await _on_problem(request, unavailable)
        response.headers.update(headers)
        return response
    log.exception("unhandled error", extra={"path": request.url.path})
    return problem_response(
        500,
        ProblemError.title,
        type_uri=ProblemError.type_uri(),
        instance=request.url.path,
        headers=headers,
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(ClientDisconnect, _on_disconnect)
    app.add_exception_handler(Exception, _on_unexpected)
