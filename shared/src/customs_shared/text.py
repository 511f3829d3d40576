"""Text every service can store and show: one free-text type, one header-value check.

PostgreSQL refuses NUL in ``text`` columns, and other control characters hide or
rewrite what an officer sees in a terminal or log viewer. Free text keeps printable
characters plus TAB and LF; CR is refused too, so a line break is always one LF and
nothing can return the cursor over text already shown. (Lone surrogates, which a JSON
``\\ud800`` escape can produce, are refused by pydantic itself.)
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

# C0 controls but TAB (U+0009) and LF (U+000A), DEL, C1 controls.
_NOT_FREE_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# The same rule for the JSON Schema in OpenAPI (ECMA-262 and Python regex alike).
FREE_TEXT_PATTERN = r"^[^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*$"


def check_free_text(value: str) -> str:
    """``value`` unchanged, or ValueError naming the first character refused."""
    found = _NOT_FREE_TEXT.search(value)
    if found is not None:
        raise ValueError(
            f"control character U+{ord(found.group()):04X} at position {found.start()} is "
            "not allowed; only tab and line feed (LF) are"
        )
    return value


FreeText = Annotated[
    str,
    AfterValidator(check_free_text),
    Field(json_schema_extra={"pattern": FREE_TEXT_PATTERN}),
]
"""A ``str`` of printable characters, TAB and LF; anything else is a 422."""

# RFC 9110 field values may carry obs-text (0x80-0xFF), but neither httpx nor most
# proxies forward it, and no header this project reads needs it.
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")


def is_visible_ascii(value: str) -> bool:
    """True when a header value is visible ASCII, space and tab only."""
    return _HEADER_VALUE.fullmatch(value) is not None
