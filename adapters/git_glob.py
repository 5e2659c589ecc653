"""Gitignore globs rewritten for pathspec so that they mean what git's wildmatch reads in them.

pathspec compiles gitignore globs to regexes, but a few forms come out unlike git:

* a bracket expression's text is copied into the regex, so what wildmatch and
  Python's `re` read differently went wrong: a POSIX class (`[[:digit:]]` closed
  at its first `]`, then wanted a literal `]`), an escaped member (`[\\]]`,
  `[a\\-z]`), a `/` among the members (pathspec splits the pattern there).
  Each expression is parsed as wildmatch does and written back as plain members
  and ranges that mean the same to both;
* a class of only `!`, `^` and `[` (`[\\!^]`) has no order pathspec reads as
  plain members: its first member is escaped in the regex (`CLASS_ESCAPE`);
* three or more stars are two to git (`a/***/b` is `a/**/b`), one segment each
  to pathspec;
* git matches a pattern with a slash after stripping its literal prefix, so a
  `**` glued to that prefix (`lib**/x`) still matches any number of folders, as
  a leading `**/` does: such a line becomes the two it means (`/libx` and
  `/lib*/**/x`).
"""

from __future__ import annotations

import re
import string

# Git's classes are ASCII-only (its own ctype table), as wildmatch tests them.
_PRINTABLE = "".join(map(chr, range(32, 127)))
POSIX_CLASSES: dict[str, str] = {
    "alnum": string.ascii_letters + string.digits,
    "alpha": string.ascii_letters,
    "blank": " \t",
    "cntrl": "".join(map(chr, range(32))) + "\x7f",
    "digit": string.digits,
    "graph": _PRINTABLE[1:],
    "lower": string.ascii_lowercase,
    "print": _PRINTABLE,
    "punct": string.punctuation,
    "space": " \t\n\v\f\r",
    "upper": string.ascii_uppercase,
    "xdigit": string.hexdigits,
}
# Written last, each alone, where `re` takes it literally: never as a range's end.
_SPECIAL = "]\\[^-!"
_SLASH = ord("/")

Intervals = list[tuple[int, int]]


# Stands, first in a class, for a backslash escaping the next member in the regex pathspec makes of it
# (`IgnoreFile` puts the backslash in): how `[\\!^]` is written, which pathspec would otherwise negate.
# Lines reach pathspec one character per byte (U+0000-U+00FF), so this never comes from one.
CLASS_ESCAPE = "\ue000"
_WILDCARDS = "*?[\\"  # where git's literal prefix of a pattern ends (`simple_length`)
_GLOBSTAR_SLASH = re.compile(r"\*{2,}/")
_ONLY_STARS = re.compile(r"\*{2,}")


def for_pathspec(line: str) -> list[str]:
    """The lines meaning to pathspec what `line` means to git: none when git matches nothing with it."""
    if not line or line.startswith("#"):
        return [line]  # a comment stays one
    line = _slashes_unescaped(line)
    return [read for each in _unglued(line) or [line] if (read := git_brackets(each)) is not None]


def _slashes_unescaped(line: str) -> str:
    """`a\\/b` is `a/b` to git (pathspec keeps the backslash); a slash escaped at the very end is left be."""
    if "\\/" not in line[:-1]:
        return line
    out: list[str] = []
    i, n = 0, len(line)
    while i < n:
        if line[i] == "\\" and i + 1 < n:
            out.append("/" if line[i + 1] == "/" and i + 2 < n else line[i : i + 2])
            i += 2
        else:
            out.append(line[i])
            i += 1
    return "".join(out)


def _unglued(line: str) -> list[str] | None:
    """The two lines a `**` glued to the literal prefix of a pattern with a slash means (None: not one).

    Git strips the prefix both pattern and path share before wildmatch, so the `**` then starts the
    pattern, where it matches any number of folders: `z**/9` matches `z9` and `zq/r/9`.
    """
    negation = "!" if line.startswith("!") else ""
    body = line[len(negation) :]
    folders_only = "/" if body.endswith("/") else ""
    body = body.removesuffix("/").removeprefix("/")
    if "/" not in body and not line[len(negation) :].startswith("/"):
        return None  # no slash: git matches the name alone, where `**` is `*`
    start = next((i for i, ch in enumerate(body) if ch in _WILDCARDS), len(body))
    if start == 0 or body[start - 1] == "/" or not body.startswith("**", start):
        return None
    end = start
    while end < len(body) and body[end] == "*":
        end += 1
    prefix, after = body[:start], body[end:]
    if after and not after.startswith("/"):
        return None  # `lib**x`: the `**` is a `*`
    rest = after[1:]
    while (more := _GLOBSTAR_SLASH.match(rest)) is not None:  # `**/**/` is `**/`
        rest = rest[more.end() :]
    if not after or _ONLY_STARS.fullmatch(rest):  # then anything at all follows the prefix
        lines = [f"/{prefix}*", f"/{prefix}*/**"]
    else:  # no folder between (the rest follows the prefix at once), or any number: the first glued to it
        lines = [f"/{prefix}{rest}", f"/{prefix}*/**/{rest}"]
    return [f"{negation}{each}{folders_only}" for each in lines]


def git_brackets(line: str) -> str | None:
    """`line` with each bracket expression in plain members and ranges, and runs of stars at most two;
    None when git would never match the pattern (an unterminated `[`, an unknown `[:class:]`, a class
    whose only member is `/`)."""
    if "[" not in line and "***" not in line:
        return line
    out: list[str] = []
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if ch == "\\" and i + 1 < n:
            out.append(line[i : i + 2])
            i += 2
        elif ch == "[":
            parsed = _parse(line, i + 1)
            written = None if parsed is None else _write(parsed[0], parsed[1])
            if parsed is None or written is None:
                return None
            out.append(written)
            i = parsed[2]
        elif ch == "*":
            stars = i
            while i < n and line[i] == "*":
                i += 1
            out.append("*" * min(i - stars, 2))
        else:
            out.append(ch)
            i += 1
    return _anchored(line, "".join(out))


def _anchored(line: str, read: str) -> str:
    """`read`, anchored if `line` was only by a `/` in a class (which `read` has no more)."""
    if _has_slash(line) and not _has_slash(read):
        negation = "!" if read.startswith("!") else ""
        return f"{negation}/{read[len(negation) :]}"
    return read


def _has_slash(pattern: str) -> bool:
    """Whether git anchors `pattern`: a slash anywhere but at its very end (which means "folders only")."""
    return "/" in pattern.lstrip("!").removesuffix("/")


def _parse(line: str, j: int) -> tuple[Intervals, bool, int] | None:
    """The expression whose `[` is just before `j`: (members, negated, index after its `]`), as wildmatch.c."""
    n = len(line)
    negated = j < n and line[j] in "!^"
    j += negated
    members: Intervals = []
    previous: int | None = None  # a member a `-` after it starts a range from
    first = True
    while True:
        if j >= n:
            return None
        ch = line[j]
        if ch == "]" and not first:
            return members, negated, j + 1
        first = False
        if ch == "\\":
            j += 1
            if j >= n:
                return None
            previous = ord(line[j])
            members.append((previous, previous))
        elif ch == "-" and previous is not None and j + 1 < n and line[j + 1] != "]":
            j += 1
            if line[j] == "\\":
                j += 1
                if j >= n:
                    return None
            members.append((previous, ord(line[j])))  # empty when it runs backwards, as in git
            previous = None
        elif ch == "[" and line.startswith(":", j + 1):
            close = line.find("]", j + 2)
            if close < 0:
                return None
            if close - j - 3 < 0 or line[close - 1] != ":":  # no `:]`: the `[` is a member
                previous = ord("[")
                members.append((previous, previous))
            else:
                found = POSIX_CLASSES.get(line[j + 2 : close - 1])
                if found is None:
                    return None  # git gives up on the whole pattern
                members.extend((ord(c), ord(c)) for c in found)
                previous = None
                j = close
        else:
            previous = ord(ch)
            members.append((previous, previous))
        j += 1


def _merged(members: Intervals) -> Intervals:
    merged: Intervals = []
    for lo, hi in sorted(m for m in members if m[0] <= m[1]):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _without(members: Intervals, points: set[int]) -> tuple[Intervals, set[int]]:
    """`members` minus `points`, and which of `points` were members."""
    kept: Intervals = []
    found: set[int] = set()
    for lo, hi in members:
        cuts = sorted(p for p in points if lo <= p <= hi)
        found.update(cuts)
        for cut in cuts:
            if lo < cut:
                kept.append((lo, cut - 1))
            lo = cut + 1
        if lo <= hi:
            kept.append((lo, hi))
    return kept, found


def _write(members: Intervals, negated: bool) -> str | None:
    """The expression for pathspec. A class never matches `/` in git (paths are matched per name), so
    `/` is dropped from the members; a set left empty matches nothing, its negation any one character."""
    plain, specials = _without(_merged(members), {_SLASH, *map(ord, _SPECIAL)})
    specials.discard(_SLASH)
    if not plain and not specials:
        return "?" if negated else None
    if not negated and len(specials) + sum(hi - lo + 1 for lo, hi in plain) == 1:
        only = chr(plain[0][0]) if plain else chr(next(iter(specials)))
        return _literal(only)
    # `]` first (a member there); then the plain members; `-` last. Of the others, none may come first
    # in a set that is not negated: `!` or `^` would negate it, `[` opens a nested set to `re`.
    body = (["]"] if ord("]") in specials else []) + [_span(lo, hi) for lo, hi in plain]
    others = [c for c in "\\^![" if ord(c) in specials]
    dash = ["-"] if ord("-") in specials else []
    if body or negated:
        body += others + dash
    elif dash:  # plain as the first member; between two it would make a range
        body = dash + others
    elif others[0] == "\\":
        body = others
    else:  # only `!`, `^`, `[`: `[!^]` and `[^!]` would be negated: the first is escaped
        body = [CLASS_ESCAPE, *others]
    if body[0] == "[":  # `[![]`: a nested set to `re`
        body.insert(0, CLASS_ESCAPE)
    return "[" + ("!" if negated else "") + "".join(body) + "]"


def _literal(char: str) -> str:
    """`char` matched by itself, out of any class."""
    if char.isascii() and char.isalnum():
        return char
    return "\\" + char if char.isprintable() else f"[{char}]"


def _span(lo: int, hi: int) -> str:
    if lo == hi:
        return chr(lo)
    if hi == lo + 1:
        return chr(lo) + chr(hi)
    return f"{chr(lo)}-{chr(hi)}"
