"""One folding for marks and goods alike, so a disguised spelling meets its original:
case, Vietnamese diacritics, punctuation and spacing, and look-alike characters."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# đ/Đ is a letter of its own, not d plus a mark: NFKD leaves it alone.
# 0/O and 1/I/l are the look-alikes counterfeit labels use most; each group folds to one.
_FOLD = str.maketrans({"đ": "d", "0": "o", "1": "l", "i": "l"})
_WORD = re.compile(r"[^\W_]+")


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=1 << 16)  # goods are described in a small vocabulary
def fold(text: str) -> str:
    """The comparable key of ``text``: letters and digits only, folded."""
    return "".join(words(text))


def words(text: str) -> list[str]:
    """``text``'s words, each folded; punctuation separates them and disappears."""
    return _WORD.findall(_strip_marks(text).translate(_FOLD))
