"""The cursor key and the webhook secret key: required outside a local run, shared by
replicas when configured, never shown."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from customs_shared.pagination import KeysetPosition
from customs_shared.problems import InvalidCursor
from declaration_svc.settings import DeclarationSettings

SECRET = "s" * 40
WEBHOOK_KEY = "w" * 40
POSITION = KeysetPosition(datetime(2025, 1, 1, tzinfo=UTC), uuid.uuid4())


def test_production_refuses_to_start_without_a_cursor_secret() -> None:
    with pytest.raises(ValidationError, match="DECLARATION_CURSOR_SECRET is required"):
        DeclarationSettings(environment="production", webhook_secret_key=WEBHOOK_KEY)


def test_a_short_cursor_secret_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValidationError, match="at least 32") as raised:
        DeclarationSettings(
            environment="production",
            cursor_secret="too-short-secret",
            webhook_secret_key=WEBHOOK_KEY,
        )
    assert "too-short-secret" not in str(raised.value)


def test_replicas_with_one_secret_read_each_others_cursors() -> None:
    first = DeclarationSettings(
        environment="production", cursor_secret=SECRET, webhook_secret_key=WEBHOOK_KEY
    )
    second = DeclarationSettings(
        environment="production", cursor_secret=SECRET, webhook_secret_key=WEBHOOK_KEY
    )
    token = first.cursor_codec().encode(POSITION, scope="s")
    assert second.cursor_codec().decode(token, scope="s") == POSITION
    assert SECRET not in repr(first)


def test_local_processes_each_invent_their_own_key() -> None:
    one, other = DeclarationSettings(), DeclarationSettings()
    token = one.cursor_codec().encode(POSITION, scope="s")
    assert one.cursor_codec().decode(token, scope="s") == POSITION
    with pytest.raises(InvalidCursor):
        other.cursor_codec().decode(token, scope="s")


def test_production_refuses_to_start_without_a_webhook_secret_key() -> None:
    with pytest.raises(ValidationError, match="DECLARATION_WEBHOOK_SECRET_KEY is required"):
        DeclarationSettings(environment="production", cursor_secret=SECRET)
    with pytest.raises(ValidationError, match="at least 32") as raised:
        DeclarationSettings(
            environment="production", cursor_secret=SECRET, webhook_secret_key="short-key"
        )
    assert "short-key" not in str(raised.value)


def test_a_rotated_webhook_key_still_opens_what_the_previous_one_sealed() -> None:
    owner = uuid.uuid4()
    before = DeclarationSettings(
        environment="production", cursor_secret=SECRET, webhook_secret_key=WEBHOOK_KEY
    )
    after = DeclarationSettings(
        environment="production",
        cursor_secret=SECRET,
        webhook_secret_key="n" * 40,
        webhook_secret_previous_keys=[WEBHOOK_KEY],
    )
    sealed = before.delivery_policy().sealer.seal(owner, "whsec_abc")
    assert after.delivery_policy().sealer.open(owner, sealed) == "whsec_abc"
    assert not sealed.startswith(after.delivery_policy().sealer.current_prefix)
    assert WEBHOOK_KEY not in repr(after)


def test_local_processes_share_the_development_webhook_key() -> None:
    owner = uuid.uuid4()
    sealed = DeclarationSettings().delivery_policy().sealer.seal(owner, "whsec_abc")
    assert DeclarationSettings().delivery_policy().sealer.open(owner, sealed) == "whsec_abc"
