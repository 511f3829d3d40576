"""Gateway-specific Prometheus metrics (served by the shared /metrics endpoint)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

UPSTREAM_REQUESTS = Counter(
    "gateway_upstream_requests_total",
    "Requests forwarded to a service, by outcome (HTTP status or error kind)",
    ["upstream", "outcome"],
)
UPSTREAM_LATENCY = Histogram(
    "gateway_upstream_response_seconds",
    "Time until a service sent its response headers",
    ["upstream"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
RATE_LIMITED = Counter(
    "gateway_rate_limited_total",
    "Requests refused by a rate limit or a concurrency bound, by limiter",
    ["limiter"],
)
TOKEN_AUTH_FAILURES = Counter(
    "gateway_token_authentication_failures_total",
    "Token requests whose client id and secret did not match a registered client",
)
TOKENS_ISSUED = Counter("gateway_tokens_issued_total", "Access tokens issued")
