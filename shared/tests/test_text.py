"""Free text refuses what PostgreSQL cannot store or a screen would misrender."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, Field, ValidationError

from customs_shared.text import FreeText, is_visible_ascii


class Note(BaseModel):
    text: FreeText = Field(max_length=50)
    optional: FreeText | None = None


REFUSED = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\r", "\x1b", "\x1f", "\x7f", "\x80", "\x9f"]


@pytest.mark.parametrize("control", REFUSED)
def test_control_characters_are_refused_with_a_clear_message(control: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Note(text=f"a{control}b")
    message = raised.value.errors()[0]["msg"]
    assert f"U+{ord(control):04X}" in message
    assert "tab and line feed" in message

    with pytest.raises(ValidationError):
        Note(text="ok", optional=f"a{control}b")


def test_lone_surrogates_are_refused() -> None:
    # FastAPI parses bodies with json.loads, which turns a "\\ud800" escape into one.
    with pytest.raises(ValidationError):
        Note.model_validate(json.loads('{"text": "a\\ud800b"}'))


@pytest.mark.parametrize(
    "text", ["tab\there", "line\nbreak", "Công ty TNHH", "中文 ✓", "\u2028", ""]
)
def test_printable_text_tab_and_line_feed_pass(text: str) -> None:
    assert Note(text=text, optional=text).text == text


def test_the_rule_is_in_the_json_schema() -> None:
    schema = Note.model_json_schema()
    assert schema["properties"]["text"]["pattern"].startswith("^[^\\u0000")
    assert schema["properties"]["text"]["maxLength"] == 50


@pytest.mark.parametrize(
    ("value", "visible"),
    [
        ("order-4711", True),
        ("a b\tc", True),
        ("", True),
        ("é", False),
        ("\x00", False),
        ("\x7f", False),
        ("\x1b[31m", False),
    ],
)
def test_header_values(value: str, visible: bool) -> None:
    assert is_visible_ascii(value) is visible
