"""Checks of the free text callers send, before it is stored: text a person, and every tool, can read."""

from __future__ import annotations

import unicodedata

from domain.errors import InvalidInputError


def visible(text: str) -> bool:
    """Whether `text` has a character that shows: not only spaces, controls or invisible format characters
    (a zero-width space, a NUL)."""
    return any(unicodedata.category(c)[0] not in "ZC" for c in text)


def check_plain(text: str, what: str) -> None:
    """Refuse a NUL: saved in a document it makes tools (and the docs scan) take the file for binary."""
    if "\x00" in text:
        raise InvalidInputError(f"{what} holds a NUL character; send plain text")
