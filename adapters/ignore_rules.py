"""Git's ignore rules for the project walk: nested `.gitignore` files, negations, directory-only patterns.

Matching is delegated to `pathspec.GitIgnoreSpec` (the maintained implementation
of gitignore semantics). Two things are added here:

* the *stack*: a `.gitignore` applies to paths below its own directory, and the
  deepest file with a matching pattern decides (a negation there re-includes
  what a shallower file ignores) — exactly Git's precedence;
* a prefilter: each file's patterns are also compiled into one alternation, so
  the common case — no pattern matches at all — costs one regex call instead of
  one per pattern (pathspec alone spends ~10 µs per path with 15 patterns, which
  is 200 ms on a 20,000-file tree).

Paths are POSIX, relative to the project root; directories end with "/".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import pathspec

_NAMED_GROUP = re.compile(r"\(\?P<\w+>")


class IgnoreFile:
    """The patterns of one ignore file, applying to paths under `base` ("" or "dir/sub/")."""

    __slots__ = ("base", "prefilter", "spec")

    def __init__(self, base: str, lines: Iterable[str]) -> None:
        self.base = base
        self.spec = pathspec.GitIgnoreSpec.from_lines(list(lines))
        regexes = [
            _NAMED_GROUP.sub("(", p.regex.pattern)
            for p in self.spec.patterns
            if p.include is not None and p.regex is not None
        ]
        self.prefilter = re.compile("|".join(f"(?:{r})" for r in regexes)) if regexes else None

    def decide(self, path: str) -> bool | None:
        """True: ignored here; False: re-included by a negation; None: no pattern here matches."""
        if self.prefilter is None:
            return None
        sub = path[len(self.base) :]
        if self.prefilter.match(sub) is None:
            return None
        return self.spec.check_file(sub).include


def is_ignored(stack: Sequence[IgnoreFile], rel: str, *, is_dir: bool) -> bool:
    """Whether `rel` is ignored by the files in `stack` (ordered shallow → deep, all enclosing `rel`)."""
    path = f"{rel}/" if is_dir else rel
    for rules in reversed(stack):
        decision = rules.decide(path)
        if decision is not None:
            return decision
    return False
