"""Checks of the free text callers send, before it is stored: text a person, and every tool, can read."""

from __future__ import annotations

import unicodedata

from domain.errors import InvalidInputError

# Characters that never show: spaces and separators, controls (a NUL), format characters (a zero-width
# space), surrogates. Private-use and not-yet-assigned ones (an emoji newer than this Python) may show.
_INVISIBLE = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Cs"})


def visible(text: str) -> bool:
    """Whether `text` has a character that shows."""
    return any(unicodedata.category(c) not in _INVISIBLE for c in text)


def check_plain(text: str, what: str) -> None:
    """Refuse a NUL: saved in a document it makes tools (and the docs scan) take the file for binary."""
    if "\x00" in text:
        raise InvalidInputError(f"{what} holds a NUL character; send plain text")
