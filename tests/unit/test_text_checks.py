from __future__ import annotations

import pytest

from domain.errors import InvalidInputError
from domain.text import check_plain, code_span, visible


def test_only_characters_that_never_show_make_text_invisible() -> None:
    assert not visible("") and not visible(" \t\n\u200b\u2060\ufeff\x00\u2028")
    assert visible("a") and visible("·")
    # Private use (an icon font) and code points newer than this Python's Unicode data (a 2022 emoji) may show.
    assert visible("\ue000") and visible("\U0001fae8")


def test_a_nul_is_refused_by_name() -> None:
    check_plain("plain text\n", "reason")
    with pytest.raises(InvalidInputError, match=r"^reason holds a NUL character; send plain text$"):
        check_plain("a\x00b", "reason")


def test_a_code_span_holds_any_name_on_one_line() -> None:
    assert code_span("plain") == "`plain`"
    assert code_span("a`b") == "`` a`b ``" and code_span("x``y") == "``` x``y ```"
    assert code_span("two\nlines\u2028") == "`two?lines?`"
    assert code_span("a | b", in_table=True) == "`a \\| b`"
