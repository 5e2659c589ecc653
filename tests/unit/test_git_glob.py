"""Bracket expressions rewritten for pathspec (the walk's agreement with git is tested against git itself)."""

from __future__ import annotations

import re

import pathspec
import pytest

from adapters.git_glob import CLASS_ESCAPE, for_pathspec, git_brackets
from adapters.ignore_rules import _as_git_classes


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


@pytest.mark.parametrize(
    "line", ["x[\\!^]", "x[![]", "x[\\\\!^]", "x[\\\\^-]", "x[!]\\\\[^-]", "x[ -/]", "x[[:punct:]]"]
)
def test_what_pathspec_makes_of_the_rewrite_matches_what_git_would(line: str) -> None:
    """Every member of the class, and nothing else printable, matches (pathspec copies class text verbatim;
    the walk then adds `/` to negated classes and puts in the escapes)."""
    read = git_brackets(line)
    assert read is not None
    regex = _as_git_classes(pathspec.GitIgnoreSpec.from_lines([read]).patterns[0].regex)
    assert isinstance(regex, re.Pattern)
    matched = {c for c in map(chr, range(32, 127)) if regex.search(f"x{c}")}
    expected = {
        "x[\\!^]": set("!^"),
        "x[![]": set(map(chr, range(32, 127))) - set("[/"),
        "x[\\\\!^]": set("\\!^"),
        "x[\\\\^-]": set("\\^-"),
        "x[!]\\\\[^-]": set(map(chr, range(32, 127))) - set("]\\[^-/"),
        "x[ -/]": set(map(chr, range(32, 47))),
        "x[[:punct:]]": set("!\"#$%&'()*+,-.:;<=>?@[\\]^_`{|}~"),
    }[line]
    assert matched == expected


def test_a_class_of_only_bang_caret_or_bracket_escapes_its_first_member() -> None:
    assert git_brackets("x[\\!^]y") == f"x[{CLASS_ESCAPE}^!]y"  # `[!^]` or `[^!]` would be negated
    assert git_brackets("x[![]") == f"x[!{CLASS_ESCAPE}[]"  # `[^[` is a nested set to `re`


@pytest.mark.parametrize(
    ("line", "lines"),
    [
        ("z**/9", ["/z9", "/z*/**/9"]),  # the prefix is stripped first: the `**` then matches any folders
        ("!a/lib**/x/", ["!/a/libx/", "!/a/lib*/**/x/"]),
        ("/z**", ["/z*", "/z*/**"]),
        ("lib**/", ["lib**/"]),  # no slash before the end: the name alone, where `**` is `*`
        ("a*/b**/c", ["a*/b**/c"]),  # not the first wildcard: a `*`
        ("a/***/b", ["a/**/b"]),
        ("# z**/9", ["# z**/9"]),
        ("a**/**/x", ["/ax", "/a*/**/x"]),  # `**/**/` is `**/`
        ("a**/**", ["/a*", "/a*/**"]),
        ("a" + "**/" * 1000 + "b", ["/ab", "/a*/**/b"]),
        ("a\\/b", ["a/b"]),  # an escaped slash is a slash (pathspec kept the backslash)
        ("x**\\/z", ["/xz", "/x*/**/z"]),
        ("a\\/", ["a\\/"]),  # escaped at the very end: left as it is
    ],
)
def test_stars_are_read_as_git_reads_them(line: str, lines: list[str]) -> None:
    assert for_pathspec(line) == lines
