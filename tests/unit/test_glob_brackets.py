"""Bracket expressions rewritten for pathspec (the walk's agreement with git is tested against git itself)."""

from __future__ import annotations

import re

import pathspec
import pytest

from adapters.glob_brackets import git_brackets


@pytest.mark.parametrize(
    ("line", "read"),
    [
        ("*.py", "*.py"),  # no bracket: untouched
        ("*.[[:digit:]]", "*.[0-9]"),
        ("x[![:digit:]]", "x[!0-9]"),
        ("q[[:alpha:]_]z", "q[A-Z_a-z]z"),
        ("x[\\]]", "x\\]"),  # one member: an escaped literal
        ("x[]a]", "x[]a]"),
        ("x[a\\-z]", "x[az-]"),
        ("x[!/]", "/x?"),  # a slash in a class anchors the pattern; no class matches one
        ("!x[!/]", "!/x?"),
        ("\\[x]", "\\[x]"),  # an escaped `[` opens nothing
        ("x[z-a]", "xz"),  # a backwards range adds nothing
    ],
)
def test_bracket_expressions_become_plain_members(line: str, read: str) -> None:
    assert git_brackets(line) == read


@pytest.mark.parametrize("line", ["x[abc", "x[[:nope:]]", "x[/]", "x[[:alpha:]"])
def test_a_pattern_git_matches_nothing_with_is_dropped(line: str) -> None:
    assert git_brackets(line) is None


@pytest.mark.parametrize("line", ["x[\\\\!^]", "x[\\\\^-]", "x[!]\\\\[^-]", "x[ -/]", "x[[:punct:]]"])
def test_what_pathspec_makes_of_the_rewrite_matches_what_git_would(line: str) -> None:
    """Every member of the class, and nothing else printable, matches (pathspec copies class text verbatim)."""
    read = git_brackets(line)
    assert read is not None
    regex = pathspec.GitIgnoreSpec.from_lines([read]).patterns[0].regex
    assert isinstance(regex, re.Pattern)
    # `/` aside: a negated class is kept from it in the walk's own regexes (pathspec is never given one).
    matched = {c for c in map(chr, range(32, 127)) if c != "/" and regex.search(f"x{c}")}
    expected = {
        "x[\\\\!^]": set("\\!^"),
        "x[\\\\^-]": set("\\^-"),
        "x[!]\\\\[^-]": set(map(chr, range(32, 127))) - set("]\\[^-/"),
        "x[ -/]": set(map(chr, range(32, 47))),
        "x[[:punct:]]": set("!\"#$%&'()*+,-.:;<=>?@[\\]^_`{|}~"),
    }[line]
    assert matched == expected
