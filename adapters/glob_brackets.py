"""Bracket expressions of gitignore globs, rewritten as plain members for pathspec.

pathspec copies a bracket expression's text into its regex, so what git's
wildmatch reads differently from Python's `re` went wrong: a POSIX class
(`[[:digit:]]` closed at its first `]`, then wanted a literal `]`), an escaped
member (`[\\]]`, `[a\\-z]`), a `/` among the members (pathspec splits the
pattern there). `git_brackets` parses each expression as wildmatch does and
writes it back as members and ranges that mean the same in both.
"""

from __future__ import annotations

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


def git_brackets(line: str) -> str | None:
    """`line` with each bracket expression in plain members and ranges; None when git would never match
    the pattern (an unterminated `[`, an unknown `[:class:]`, a class whose only member is `/`)."""
    if "[" not in line:
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
            if parsed is None:
                return None
            members, negated, i = parsed
            written = _write(members, negated)
            if written is None:
                return None
            out.append(written)
        else:
            out.append(ch)
            i += 1
    read = "".join(out)
    if _has_slash(line) and not _has_slash(read):
        # A `/` in a class anchors the pattern to its .gitignore's folder, as any slash before the end does.
        negation = "!" if read.startswith("!") else ""
        read = f"{negation}/{read[len(negation) :]}"
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
        if only.isascii() and only.isalnum():
            return only
        return "\\" + only if only.isprintable() else f"[{only}]"
    # `]` first (a member there); then the plain members; `-` last. Of the others, none may come first
    # in a set that is not negated: `!` or `^` would negate it, `[` opens a nested set to `re`.
    body = (["]"] if ord("]") in specials else []) + [_span(lo, hi) for lo, hi in plain]
    others = [c for c in "\\!^[" if ord(c) in specials]
    dash = ["-"] if ord("-") in specials else []
    if body or negated:
        body += others + dash
    elif dash:  # plain as the first member; between two it would make a range
        body = dash + others
    elif others[0] == "\\":
        body = others
    else:
        return None  # only `[`, `!`, `^`: no set pathspec reads holds just those (git's rare `[\\!^]`)
    return "[" + ("!" if negated else "") + "".join(body) + "]"


def _span(lo: int, hi: int) -> str:
    if lo == hi:
        return chr(lo)
    if hi == lo + 1:
        return chr(lo) + chr(hi)
    return f"{chr(lo)}-{chr(hi)}"
