"""The YAML front matter of the documents this server writes: written, recognised, set aside.

Documents under `specs/` are expected to carry a `title` and a `description` (the docs
analysis flags those that do not), so what the server writes there carries them too.
Values are written as JSON strings, which YAML reads verbatim (any quotes, colons, `#`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

_FENCE = "---"
MAX_FRONT_MATTER_LINES = 400  # a closing `---` further down is a thematic break, not front matter


# What YAML does not allow in a document even escaped as JSON leaves it (DEL, C1 controls, lone surrogates,
# U+FFFE/U+FFFF): a value holding one would make the whole front matter unreadable.
_NOT_YAML = re.compile("[\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def front_matter(fields: Mapping[str, str]) -> str:
    """`---`, one `key: "value"` line per field, `---`, and a blank line."""
    lines = [f"{key}: {json.dumps(_NOT_YAML.sub(' ', value), ensure_ascii=False)}" for key, value in fields.items()]
    return "\n".join([_FENCE, *lines, _FENCE, "", ""])


def closing_line(lines: list[str]) -> int | None:
    """The index of the line closing the front matter `lines` open with; None when they open none."""
    if not lines or lines[0].rstrip() != _FENCE:
        return None
    for end in range(1, min(len(lines), MAX_FRONT_MATTER_LINES)):
        if lines[end].rstrip() in (_FENCE, "..."):
            return end
    return None


def has_front_matter(text: str) -> bool:
    """Whether `text` opens with a `---` block closed within MAX_FRONT_MATTER_LINES, as the docs tools read it."""
    return closing_line(text.split("\n", MAX_FRONT_MATTER_LINES)) is not None


# The front matter of a saved workflow document, in this order (see `with_document_front_matter`).
DOCUMENT_KEYS = ("title", "description", "feature", "phase")


def with_document_front_matter(text: str, *, title: str, description: str, feature: str, phase: str) -> str:
    """`text` as a workflow document: under front matter of DOCUMENT_KEYS, unless it brings its own."""
    if has_front_matter(text):
        return text
    return front_matter(dict(zip(DOCUMENT_KEYS, (title, description, feature, phase), strict=True))) + text


def document_body(text: str) -> str:
    """`text` without the front matter `with_document_front_matter` put on it; as it is otherwise.

    Only that block is set aside (its keys, one line each, in order): a block the author wrote is
    part of what they wrote, even when it is a `---` rule around a line that looks like `key: value`.
    """
    if not text.startswith(_FENCE):
        return text
    size = len(DOCUMENT_KEYS)
    lines = text.split("\n", size + 2)
    if len(lines) < size + 2 or lines[0].rstrip() != _FENCE or lines[size + 1].rstrip() != _FENCE:
        return text
    if any(not line.startswith(f"{key}: ") for line, key in zip(lines[1 : size + 1], DOCUMENT_KEYS, strict=True)):
        return text
    return lines[size + 2].lstrip("\r\n") if len(lines) > size + 2 else ""
