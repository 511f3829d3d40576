"""Webhook URLs that would make a service call into its own network (OWASP API7, SSRF):
refused however the address is spelled, unless an operator allows private targets."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from customs_shared.notifications.errors import WebhookTargetRefused
from customs_shared.notifications.schemas import SubscriptionIn
from customs_shared.notifications.targets import check_url

HOSTILE = [
    "https://127.0.0.1/hook",
    "https://127.0.0.1:8001/api/v1/declarations",
    "https://2130706433/",  # decimal
    "https://0x7f000001/",  # hex
    "https://0177.0.0.1/",  # octal
    "https://127.1/",  # short form
    "https://%31%32%37.0.0.1/",  # percent-encoded
    "https://0/",
    "https://0.0.0.0/",
    "https://localhost/",  # a name that resolves to loopback
    "https://localhost:9001/metrics",
    "https://10.0.0.1/",
    "https://172.16.0.1/",
    "https://192.168.1.1/",
    "https://100.64.0.1/",  # carrier-grade NAT
    "https://198.18.0.1/",  # benchmarking
    "https://169.254.169.254/latest/meta-data/",  # cloud metadata
    "https://224.0.0.1/",
    "https://255.255.255.255/",
    "https://[::1]/",
    "https://[::]/",
    "https://[fc00::1]/",
    "https://[fd12:3456::1]/",
    "https://[fe80::1]/",
    "https://[::ffff:127.0.0.1]/",  # IPv4-mapped
    "https://[::ffff:169.254.169.254]/",
    "https://[64:ff9b::7f00:1]/",  # NAT64 to 127.0.0.1
    "https://[64:ff9b::a9fe:a9fe]/",  # NAT64 to the metadata address
    "https://[64:ff9b:1::1]/",  # NAT64 local use
    "https://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "https://[2002:a00:1::]/",  # 6to4 of 10.0.0.1
    "https://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/",  # Teredo, client 10.0.0.1
    "https://public.example@127.0.0.1/",  # userinfo
    "https://127.0.0.1#@public.example/",
    "https://127.0.0.1\\@public.example/",
    "https://does-not-resolve.invalid/",
    # Plain http, even to a public address: webhook bodies are tenant data.
    "http://93.184.215.14/hook",
    "http://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/hook",
]


def _parsed(url: str) -> str:
    return str(SubscriptionIn.model_validate({"url": url}).url)


@pytest.mark.parametrize("url", HOSTILE)
async def test_a_non_public_or_plain_http_target_is_refused(url: str) -> None:
    with pytest.raises(WebhookTargetRefused) as refused:
        await check_url(_parsed(url), allow_private=False)
    assert refused.value.status == 422


@pytest.mark.parametrize(
    "url",
    [
        "https://93.184.215.14/hook",
        "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/hook",
        "https://8.8.8.8:8443/x",
    ],
)
async def test_a_public_https_target_is_accepted(url: str) -> None:
    await check_url(_parsed(url), allow_private=False)  # raises if refused
    assert _parsed(url).startswith("https://")


@pytest.mark.parametrize("url", HOSTILE[:10])
async def test_private_targets_are_allowed_only_when_configured(url: str) -> None:
    await check_url(_parsed(url), allow_private=True)  # raises if refused
    assert url.startswith("https://")


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1/x",
        "gopher://127.0.0.1:6379/_INFO",
        "dict://127.0.0.1:11211/stat",
        "ldap://127.0.0.1/",
        "javascript:alert(1)",
        "//127.0.0.1/hook",
        "https://",
        "https://" + "a" * 3000 + ".example/",
        "https://public.example/" + "a" * 2000,  # longer than the column that keeps it
    ],
)
def test_urls_that_are_not_http_or_too_long_are_refused_by_the_schema(url: str) -> None:
    with pytest.raises(ValidationError):
        SubscriptionIn.model_validate({"url": url})


async def test_a_name_is_called_at_the_address_it_was_checked_at(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # DNS rebinding: the first answer is public, any later one loopback. The delivery
    # connects to the address checked, never looking the name up again.
    answers = iter(["93.184.215.14", "127.0.0.1", "127.0.0.1"])
    lookups: list[str] = []

    def resolve(host: str, port: object, *args: object, **kwargs: object) -> list[Any]:
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), 443))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    target = await check_url("https://user@hooks.example:8443/in?x=1#f", allow_private=False)
    sent: list[httpx.Request] = []

    def receive(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(204)

    async with httpx.AsyncClient(transport=httpx.MockTransport(receive)) as http:
        await http.post(target.url, headers=target.headers, extensions=target.extensions)
    assert lookups == ["hooks.example"]
    (request,) = sent
    assert (request.url.host, request.url.port, request.url.raw_path) == (
        "93.184.215.14",
        8443,
        b"/in?x=1",
    )
    assert request.headers["host"] == "hooks.example:8443"
    assert request.extensions["sni_hostname"] == "hooks.example"
    assert request.url.username == "user"


async def test_a_literal_address_or_an_allowed_private_target_is_called_as_given() -> None:
    literal = await check_url("https://93.184.215.14/hook", allow_private=False)
    private = await check_url("http://127.0.0.1:9/hook", allow_private=True)
    assert (literal.url, literal.headers) == ("https://93.184.215.14/hook", {})
    assert (private.url, private.extensions) == ("http://127.0.0.1:9/hook", {})
