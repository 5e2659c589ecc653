"""Front matter the server writes on its documents, and the text under it."""

from __future__ import annotations

import pytest
import yaml

from domain.front_matter import document_body, front_matter, has_front_matter, with_document_front_matter
from domain.names import clipped

FIELDS = {"title": 'Spec: a "quoted": #not-a-comment', "description": "é ✓\nline 2\t", "feature": "f", "phase": "p"}


def test_written_front_matter_reads_back_verbatim_as_yaml() -> None:
    text = with_document_front_matter("# Body\n", **FIELDS)
    assert has_front_matter(text)
    assert yaml.safe_load(text.split("---\n")[1]) == FIELDS
    assert document_body(text) == "# Body\n"
    odd = front_matter({"title": "DEL\x7f, NEL\x85, C1\x9b, \ufffe"})  # not allowed in YAML even escaped
    assert yaml.safe_load(odd.split("---\n")[1]) == {"title": "DEL , NEL , C1 ,  "}


def test_an_outputs_own_front_matter_is_kept_and_is_part_of_its_text() -> None:
    own = "---\ntitle: Mine\n---\n\n# Body"
    assert with_document_front_matter(own, **FIELDS) == own
    assert document_body(own) == own  # only the block the server wrote is set aside
    rule = "---\nContext: keep the v1 API stable\n---\n\n# Spec"  # a rule around a line, read as front matter
    assert with_document_front_matter(rule, **FIELDS) == rule and document_body(rule) == rule


@pytest.mark.parametrize(
    ("text", "body"),
    [
        ("no front matter\n---\n", "no front matter\n---\n"),
        ("---\nnot closed\n\ntext", "---\nnot closed\n\ntext"),
        (front_matter(FIELDS) + "text", "text"),
        (front_matter(FIELDS).replace("\n", "\r\n") + "\r\ntext", "text"),  # an editor's CRLF
        (front_matter(FIELDS).replace("---\n", "--- \n") + "text", "text"),  # and its trailing spaces
        (front_matter(FIELDS).rstrip("\n"), ""),
        (front_matter({**FIELDS, "status": "done"}) + "text", front_matter({**FIELDS, "status": "done"}) + "text"),
    ],
)
def test_the_text_under_the_servers_front_matter(text: str, body: str) -> None:
    assert document_body(text) == body


def test_front_matter_is_a_closed_block_at_the_top() -> None:
    assert has_front_matter("---\na: 1\n...\ntext") and has_front_matter("---\r\na: 1\r\n---\r\n")
    assert not has_front_matter("---\nnot closed") and not has_front_matter("text\n---\na: 1\n---")
    assert not has_front_matter("----\na: 1\n---\n")


def test_clipped_keeps_one_line_within_the_limit_cut_at_a_word() -> None:
    assert clipped("  short\n text ", 80) == "short text"
    assert clipped("one two three four", 12) == "one two…"
    assert clipped("x" * 30, 10) == "x" * 9 + "…"
