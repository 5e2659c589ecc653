"""Documentation entities: a parsed Markdown doc, its links, where it lives, what metadata it owes."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Category = Literal["root", "agent", "skills", "specs", "adr", "docs", "other"]

LARGE_DOC_BYTES = 256 * 1024
"""Above this a doc is flagged `large`: too big for an agent to read whole."""

_AGENT_FILES = frozenset({"agents.md", "claude.md", "gemini.md", "copilot-instructions.md", ".cursorrules"})
_ADR_DIRS = frozenset({"adr", "adrs", "decisions", "decision-records"})
_DOCS_DIRS = frozenset({"docs", "doc", "documentation", "wiki", "guides", "handbook"})

# Front-matter keys a doc of each category is expected to declare.
REQUIRED_METADATA: Mapping[Category, tuple[str, ...]] = {
    "docs": ("title", "description"),
    "adr": ("title", "description"),
    "specs": ("title", "description"),
    "skills": ("name", "description"),
}


DocLink = tuple[int, str, str, str]
"""A relative link in a doc: (line, target as written, path, anchor); `path` is '' for a same-doc `#anchor`.

Why plain tuples (here, for anchors and in front matter): CPython's garbage
collector stops tracking tuples and dicts that hold only strings and numbers. A
10,000-doc analysis holds ~100,000 links; as objects, or in sets and lists, they
would make every full collection (which holds the GIL, so stalls the event loop)
tens of milliseconds longer.
"""


@dataclass(frozen=True, slots=True)
class Heading:
    """A heading; `line` is the 1-based line of its text (for setext headings, the line above the underline)."""

    level: int
    text: str
    anchor: str
    line: int


@dataclass(frozen=True, slots=True)
class ParsedDoc:
    """What the analysis needs from one Markdown file (never its full text)."""

    path: str
    size: int
    title: str
    title_from: Literal["metadata", "heading", "file"]
    metadata: Mapping[str, Any] | None = None
    metadata_error: str | None = None
    anchors: tuple[str, ...] = ()  # lowercase heading slugs and HTML ids
    headings: int = 0
    links: tuple[DocLink, ...] = ()
    problem: Literal["binary", "unreadable", "invalid_utf8"] | None = None
    problem_detail: str = ""
    truncated: bool = False  # only the first CDE_DOCS_MAX_BYTES were read

    @property
    def category(self) -> Category:
        return category_of(self.path)


@dataclass(frozen=True)
class DocSet:
    """A project's docs plus the project's file and folder names (to resolve link targets)."""

    docs: tuple[ParsedDoc, ...]
    files: frozenset[str]
    dirs: frozenset[str]
    tree_truncated: bool = False
    # Paths that exist but the walk did not enter: symlinks and dependency/build folders.
    unwalked: frozenset[str] = frozenset()
    by_path: Mapping[str, ParsedDoc] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_path", {d.path: d for d in self.docs})


def category_of(path: str) -> Category:
    """Where a doc lives: agent instructions, skills, specs, ADRs, the docs folder, the root, or elsewhere."""
    parts = path.split("/")
    name = parts[-1].lower()
    folders = [p.lower() for p in parts[:-1]]
    if name in _AGENT_FILES or (folders[:1] == [".github"] and "instructions" in folders[:2]):
        return "agent"
    if name == "skill.md":
        return "skills"
    if folders[:1] == ["specs"]:
        return "specs"
    if any(f in _ADR_DIRS for f in folders):
        return "adr"
    if folders[:1] and folders[0] in _DOCS_DIRS:
        return "docs"
    if not folders:
        return "root"
    return "other"


def missing_metadata(doc: ParsedDoc) -> tuple[str, ...]:
    """The expected front-matter keys `doc` lacks (empty when none are expected or all are there)."""
    expected = REQUIRED_METADATA.get(doc.category, ())
    if not expected or doc.problem in ("binary", "unreadable"):
        return ()
    present = doc.metadata or {}
    return tuple(key for key in expected if not present.get(key))


def is_entry_point(path: str) -> bool:
    """Docs found by browsing rather than by links: root files, agent files, skills, specs, folder READMEs."""
    name = posixpath.basename(path).lower()
    return (
        category_of(path) in ("root", "agent", "skills", "specs")
        or name.startswith("readme.")
        or name in ("index.md", "_index.md")
    )
