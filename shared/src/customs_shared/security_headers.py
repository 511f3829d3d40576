"""Response headers that keep browsers from misusing API answers. The API serves JSON to
programs, not pages: no sniffing, no framing, no referrer. CORS stays off (no
``Access-Control-Allow-*`` headers), so browsers on other origins cannot call it."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
HSTS: tuple[bytes, bytes] = (b"strict-transport-security", b"max-age=31536000")


def security_headers(*, hsts: bool) -> tuple[tuple[bytes, bytes], ...]:
    """The headers every answer carries; HSTS only where TLS ends in front of the app."""
    return SECURITY_HEADERS + ((HSTS,) if hsts else ())


class SecurityHeadersMiddleware:
    """Adds ``SECURITY_HEADERS`` (and HSTS where TLS ends in front) to every answer,
    unless the app set them itself."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.headers = security_headers(hsts=hsts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in self.headers if n not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
