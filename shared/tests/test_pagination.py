"""Signed keyset cursors: round trip, and every kind of tampering refused as a problem."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from customs_shared.pagination import CursorCodec, KeysetPosition
from customs_shared.problems import InvalidCursor

KEY = b"k" * 32
CODEC = CursorCodec(KEY)
SCOPE = "declarations|tenant=0312345673|status=*"
POSITION = KeysetPosition(datetime(2025, 3, 1, 8, 30, 0, 123456, tzinfo=UTC), uuid.uuid4())


def test_round_trip_gives_the_same_position() -> None:
    token = CODEC.encode(POSITION, scope=SCOPE)

    assert CODEC.decode(token, scope=SCOPE) == POSITION
    assert len(token) < 200  # fits the listing's cursor length limit
    assert str(POSITION.id) not in token  # opaque enough not to invite editing


def test_round_trip_normalises_other_offsets_to_utc() -> None:
    at = datetime(2025, 3, 1, 15, 30, tzinfo=timezone(timedelta(hours=7)))
    decoded = CODEC.decode(CODEC.encode(KeysetPosition(at, POSITION.id), scope=SCOPE), scope=SCOPE)

    assert decoded.created_at == at
    assert decoded.created_at.tzinfo is UTC


def _flip(text: str, index: int) -> str:
    replacement = "A" if text[index] != "A" else "B"
    return text[:index] + replacement + text[index + 1 :]


@pytest.mark.parametrize("index", [0, 5, 40, -1, -10])
def test_a_changed_character_is_refused(index: int) -> None:
    token = CODEC.encode(POSITION, scope=SCOPE)

    with pytest.raises(InvalidCursor):
        CODEC.decode(_flip(token, index), scope=SCOPE)


def test_a_forged_payload_with_a_copied_mac_is_refused() -> None:
    token = CODEC.encode(POSITION, scope=SCOPE)
    forged = base64.urlsafe_b64encode(f"2999-01-01T00:00:00+00:00|{POSITION.id}".encode())

    with pytest.raises(InvalidCursor):
        CODEC.decode(forged.decode().rstrip("=") + "." + token.split(".")[1], scope=SCOPE)


def test_another_key_is_refused() -> None:
    token = CursorCodec(b"o" * 32).encode(POSITION, scope=SCOPE)

    with pytest.raises(InvalidCursor):
        CODEC.decode(token, scope=SCOPE)


def test_another_scope_is_refused() -> None:
    token = CODEC.encode(POSITION, scope=SCOPE)

    with pytest.raises(InvalidCursor):
        CODEC.decode(token, scope="declarations|tenant=0318765434|status=*")


@pytest.mark.parametrize(
    "payload",
    [
        b"2999-01-01T00:00:00|00000000-0000-0000-0000-000000000000",  # naive
        b"2999-01-01|00000000-0000-0000-0000-000000000000",  # a bare date
        b"0001-01-01T00:00:00+23:59|00000000-0000-0000-0000-000000000000",  # before year 1 in UTC
        b"2025-01-01T00:00:00+00:00|not-a-uuid",
        b"2025-01-01T00:00:00+00:00",
        b"\xff\xfe|x",
        b"",
    ],
)
def test_a_correctly_signed_bad_payload_is_refused(payload: bytes) -> None:
    token = CODEC.sign(payload, scope=SCOPE)

    with pytest.raises(InvalidCursor):
        CODEC.decode(token, scope=SCOPE)


def test_invalid_cursor_is_a_400_problem() -> None:
    assert InvalidCursor.status == 400
    assert InvalidCursor.type_uri().endswith("/invalid-cursor")


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        CursorCodec(b"short")


def test_a_naive_position_is_not_encoded() -> None:
    naive = KeysetPosition(datetime(2025, 1, 1), POSITION.id)  # noqa: DTZ001 - on purpose

    with pytest.raises(ValueError, match="timezone-aware"):
        CODEC.encode(naive, scope=SCOPE)


@given(st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_any_string_is_a_position_or_invalid_cursor(token: str) -> None:
    try:
        decoded = CODEC.decode(token, scope=SCOPE)
    except InvalidCursor:
        return
    assert decoded.created_at.tzinfo is UTC
