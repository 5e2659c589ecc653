"""Front matter the server writes, and the text after it."""

from __future__ import annotations

import pytest
import yaml

from domain.front_matter import front_matter, has_front_matter, without_front_matter
from domain.names import clipped


def test_written_front_matter_reads_back_verbatim_as_yaml() -> None:
    fields = {"title": 'Spec: a "quoted": #not-a-comment', "description": "é ✓", "phase": "define"}
    text = front_matter(fields) + "# Body\n"
    assert has_front_matter(text)
    assert yaml.safe_load(text.split("---\n")[1]) == fields
    assert without_front_matter(text) == "# Body\n"


@pytest.mark.parametrize(
    ("text", "body"),
    [
        ("no front matter\n---\n", "no front matter\n---\n"),
        ("---\nnot closed\n\ntext", "---\nnot closed\n\ntext"),  # a thematic break, not front matter
        ("---\na: 1\n...\ntext", "text"),
        ("---\r\na: 1\r\n---\r\n\r\ntext", "text"),
        ("----\na: 1\n---\ntext", "----\na: 1\n---\ntext"),
    ],
)
def test_text_after_front_matter(text: str, body: str) -> None:
    assert without_front_matter(text) == body
    assert has_front_matter(text) == (body != text)


def test_clipped_keeps_one_line_within_the_limit_cut_at_a_word() -> None:
    assert clipped("  short\n text ", 80) == "short text"
    assert clipped("one two three four", 12) == "one two…"
    assert clipped("x" * 30, 10) == "x" * 9 + "…"
