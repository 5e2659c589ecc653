"""The YAML front matter of the documents this server writes: written, recognised, set aside.

Documents under `specs/` are expected to carry a `title` and a `description` (the docs
analysis flags those that do not), so what the server writes there carries them too.
Values are written as JSON strings, which YAML reads verbatim (any quotes, colons, `#`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

_FENCE = "---"
MAX_FRONT_MATTER_LINES = 400  # as the Markdown reader: a `---` further down is a thematic break


def front_matter(fields: Mapping[str, str]) -> str:
    """`---`, one `key: "value"` line per field, `---`, and a blank line."""
    lines = [f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in fields.items()]
    return "\n".join([_FENCE, *lines, _FENCE, "", ""])


def _closing_line(lines: list[str]) -> int | None:
    if not lines or lines[0].rstrip() != _FENCE:
        return None
    for end in range(1, min(len(lines), MAX_FRONT_MATTER_LINES)):
        if lines[end].rstrip() in (_FENCE, "..."):
            return end
    return None


def has_front_matter(text: str) -> bool:
    return _closing_line(text.split("\n", MAX_FRONT_MATTER_LINES)) is not None


def without_front_matter(text: str) -> str:
    """`text` after its front matter (and the blank lines after it); `text` itself when it has none."""
    if not text.startswith(_FENCE):
        return text
    lines = text.split("\n", MAX_FRONT_MATTER_LINES)
    end = _closing_line(lines)
    if end is None:
        return text
    return "\n".join(lines[end + 1 :]).lstrip("\r\n")
