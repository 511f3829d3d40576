"""The limits of ``POST /oauth/token``, and the source address they are keyed on.

Nothing here is keyed on the claimed client id alone: whoever can name a client
but not authenticate as it must not be able to use up that client's budget.

- Before the secret is checked (no argon2 spent on a refused request):
  requests per source, failures per source, failures per (source, client id),
  and the source's checks in progress (running or waiting for a slot).
- After a failed check: one failure for the source and for (source, client id).
- After a successful check: one issued token for the client id.

An unknown client id is counted like a known one, so the limits do not tell
which ids exist either.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import Request
from limits.aio.storage import Storage

from customs_shared.problems import ProblemError, TooManyRequests
from gateway.errors import Busy
from gateway.metrics import RATE_LIMITED
from gateway.ratelimit import RateLimiter
from gateway.settings import GatewaySettings
from gateway.slots import InFlightPerKey

log = logging.getLogger(__name__)

UNKNOWN_SOURCE = "unknown"
IN_FLIGHT_LIMITER = "token-source-in-flight"
BUSY_LIMITER = "token-verification-busy"
# Whoever holds one IPv6 address usually holds its whole /64.
IPV6_SOURCE_PREFIX = 64


def source_of(request: Request) -> str:
    """The caller's address as a rate-limit key: the ASGI client host (uvicorn puts the
    X-Forwarded-For address there for trusted proxies only); an IPv6 address as its /64."""
    host = request.client.host if request.client is not None else None
    if not host:
        return UNKNOWN_SOURCE
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # not an IP (a test transport, a Unix socket peer name)
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_SOURCE_PREFIX), strict=False))
    return str(address)


@dataclass(frozen=True)
class TokenLimits:
    requests_per_source: RateLimiter
    failures_per_source: RateLimiter
    failures_per_client_source: RateLimiter
    issued_per_client: RateLimiter
    in_flight_per_source: InFlightPerKey

    @classmethod
    def from_settings(cls, settings: GatewaySettings, storage: Storage) -> TokenLimits:
        return cls(
            requests_per_source=RateLimiter(
                settings.token_requests_per_minute_per_source,
                storage,
                namespace="token-source-requests",
                counts="token requests from this address",
            ),
            failures_per_source=RateLimiter(
                settings.token_failures_per_minute_per_source,
                storage,
                namespace="token-source-failures",
                counts="failed client authentications from this address",
            ),
            failures_per_client_source=RateLimiter(
                settings.token_failures_per_minute_per_client_source,
                storage,
                namespace="token-client-source-failures",
                counts="failed authentications of this client from this address",
            ),
            issued_per_client=RateLimiter(
                settings.tokens_issued_per_minute_per_client,
                storage,
                namespace="token-client-issued",
                counts="tokens issued to this client",
            ),
            in_flight_per_source=InFlightPerKey(settings.token_verifications_in_flight_per_source),
        )

    async def admit(self, client_id: str, source: str) -> None:
        """Before the secret is checked: a 429 problem if this source may not try now."""
        with _refusal(self.failures_per_client_source, client_id, source):
            await self.failures_per_client_source.ensure_room(source, client_id)
        with _refusal(self.failures_per_source, client_id, source):
            await self.failures_per_source.ensure_room(source)
        with _refusal(self.requests_per_source, client_id, source):
            await self.requests_per_source.check(source)

    @contextlib.contextmanager
    def checking(self, client_id: str, source: str) -> Iterator[None]:
        """Around the secret check: a 429 problem if the source has too many in progress;
        the 503 ``busy`` problem of a check that found no slot is counted here too."""
        with contextlib.ExitStack() as held:
            with _refusal(IN_FLIGHT_LIMITER, client_id, source):
                held.enter_context(self.in_flight_per_source.hold(source))
            with _refusal(BUSY_LIMITER, client_id, source, refusal=Busy):
                yield

    async def failed(self, client_id: str, source: str) -> None:
        await self.failures_per_source.record(source)
        await self.failures_per_client_source.record(source, client_id)

    async def issue(self, client_id: str, source: str) -> None:
        """After a successful check: counts the token about to be issued, or a 429."""
        with _refusal(self.issued_per_client, client_id, source):
            await self.issued_per_client.check(client_id)


@contextlib.contextmanager
def _refusal(
    limiter: RateLimiter | str,
    client_id: str,
    source: str,
    *,
    refusal: type[ProblemError] = TooManyRequests,
) -> Iterator[None]:
    """Counts and logs a ``refusal`` by ``limiter`` (a limiter or its metric label)."""
    name = limiter if isinstance(limiter, str) else limiter.namespace
    try:
        yield
    except refusal:
        RATE_LIMITED.labels(name).inc()
        log.warning(
            "token request over a limit",
            extra={"limiter": name, "client_id": client_id, "source": source},
        )
        raise
