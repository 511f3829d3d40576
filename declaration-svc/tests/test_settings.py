"""The cursor key: required outside a local run, shared by replicas when configured."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from customs_shared.pagination import KeysetPosition
from customs_shared.problems import InvalidCursor
from declaration_svc.settings import DeclarationSettings

SECRET = "s" * 40
POSITION = KeysetPosition(datetime(2025, 1, 1, tzinfo=UTC), uuid.uuid4())


def test_production_refuses_to_start_without_a_cursor_secret() -> None:
    with pytest.raises(ValidationError, match="DECLARATION_CURSOR_SECRET is required"):
        DeclarationSettings(environment="production")


def test_a_short_cursor_secret_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValidationError, match="at least 32") as raised:
        DeclarationSettings(environment="production", cursor_secret="too-short-secret")
    assert "too-short-secret" not in str(raised.value)


def test_replicas_with_one_secret_read_each_others_cursors() -> None:
    first = DeclarationSettings(environment="production", cursor_secret=SECRET)
    second = DeclarationSettings(environment="production", cursor_secret=SECRET)
    token = first.cursor_codec().encode(POSITION, scope="s")
    assert second.cursor_codec().decode(token, scope="s") == POSITION
    assert SECRET not in repr(first)


def test_local_processes_each_invent_their_own_key() -> None:
    one, other = DeclarationSettings(), DeclarationSettings()
    token = one.cursor_codec().encode(POSITION, scope="s")
    assert one.cursor_codec().decode(token, scope="s") == POSITION
    with pytest.raises(InvalidCursor):
        other.cursor_codec().decode(token, scope="s")
