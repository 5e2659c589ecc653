"""Checks of the free text callers send, before it is stored: text a person, and every tool, can read."""

from __future__ import annotations

import re
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


def one_line_text(text: str) -> str:
    """`text` with every line break and control or format character shown as `?`: a file name put in a
    generated Markdown document stays one line of text, never a new heading or instruction."""
    return "".join("?" if unicodedata.category(c) in _LINE_BREAKING else c for c in text)


_LINE_BREAKING = frozenset({"Cc", "Cf", "Zl", "Zp"})


def code_span(text: str, *, in_table: bool = False) -> str:
    """`text` as one Markdown inline code span, whatever it holds: backticks get a longer fence, line breaks
    become `?`, and in a table cell `|` is escaped (GitHub splits cells at it even inside code)."""
    clean = one_line_text(text)
    if in_table:
        clean = clean.replace("|", "\\|")
    longest = max((len(run) for run in re.findall("`+", clean)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if longest else ""
    return f"{fence}{pad}{clean}{pad}{fence}"
