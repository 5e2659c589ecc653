"""Findings over a project's docs: broken links and anchors, orphans, duplicate titles, metadata, a score.

`analyze_docs` is pure and linear in the number of docs and links; the corpus
adapter runs it once per change of the docs, in its worker thread, and caches
the result, so every documentation tool call reads a finished analysis.
"""

from __future__ import annotations

import posixpath
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from domain.docs.model import LARGE_DOC_BYTES, DocLink, DocSet, ParsedDoc, is_entry_point, missing_metadata


@dataclass(frozen=True, slots=True)
class BrokenLink:
    doc: str
    line: int
    target: str
    reason: str


@dataclass(frozen=True)
class DocsAnalysis:
    """Everything the documentation tools report, computed once per change of the docs."""

    docs: tuple[ParsedDoc, ...]
    issues: Mapping[str, tuple[str, ...]]  # doc path → issue codes (docs without issues are absent)
    links: int  # relative links checked
    broken_links: tuple[BrokenLink, ...]
    orphans: tuple[str, ...]
    duplicate_titles: Mapping[str, tuple[str, ...]]  # title → paths sharing it
    missing_metadata: Mapping[str, tuple[str, ...]]  # doc path → expected keys it lacks
    categories: Mapping[str, int]
    score: int
    reasons: tuple[str, ...]


def resolve_link(doc_path: str, link_path: str) -> str | None:
    """The project-relative path a link points at ('' is the root), or None when it leaves the project.

    A leading '/' is relative to the project root, as on GitHub.
    """
    if link_path.startswith("/"):
        joined = link_path.lstrip("/")
    else:
        joined = posixpath.join(posixpath.dirname(doc_path), link_path)
    if not joined:
        return ""
    normal = posixpath.normpath(joined)
    if normal == ".":
        return ""
    if normal == ".." or normal.startswith("../"):
        return None
    return normal


def _check(doc: ParsedDoc, link: DocLink, corpus: DocSet) -> tuple[str | None, str | None]:
    """(resolved target, why it is broken or None)."""
    _, _, path, anchor = link
    target = resolve_link(doc.path, path) if path else doc.path
    if target is None:
        return None, "points outside the project"
    if target in corpus.files:
        linked = corpus.by_path.get(target)
        if (
            anchor
            and linked is not None
            and not linked.truncated
            and linked.problem is None
            and anchor.lower() not in linked.anchors
        ):
            return target, f"no heading or anchor #{anchor} in {target}"
        return target, None
    if target == "" or target in corpus.dirs or _unwalked(target, corpus.unwalked):
        return target, None  # a symlink or a build/dependency folder: there, though not walked
    return target, "file not found (missing, or ignored by .gitignore)"


def _unwalked(target: str, unwalked: frozenset[str]) -> bool:
    """Whether `target` is, or is inside, a path the walk saw but did not enter."""
    if not unwalked:
        return False
    path = target
    while path:
        if path in unwalked:
            return True
        path = posixpath.dirname(path)
    return False


def analyze_docs(corpus: DocSet) -> DocsAnalysis:
    issues: dict[str, list[str]] = {}
    broken: list[BrokenLink] = []
    inbound: Counter[str] = Counter()
    links = 0
    missing: dict[str, tuple[str, ...]] = {}
    for doc in corpus.docs:
        codes = issues.setdefault(doc.path, [])
        if doc.problem is not None:
            codes.append(doc.problem)
        if doc.metadata_error is not None:
            codes.append("invalid_metadata")
        lacking = missing_metadata(doc)
        if lacking:
            missing[doc.path] = lacking
            codes.append("missing_metadata")
        if doc.size > LARGE_DOC_BYTES:
            codes.append("large")
        broken_before = len(broken)
        for link in doc.links:
            links += 1
            target, reason = _check(doc, link, corpus)
            if reason is not None:
                broken.append(BrokenLink(doc=doc.path, line=link[0], target=link[1], reason=reason))
            # A link to a doc links it, even when its anchor is wrong: that is one problem, not two.
            if target is not None and target != doc.path and (reason is None or target in corpus.by_path):
                inbound[target] += 1
        if len(broken) > broken_before:
            codes.append("broken_links")
    orphans = tuple(d.path for d in corpus.docs if not inbound[d.path] and not is_entry_point(d.path))
    for path in orphans:
        issues[path].append("orphan")
    titles: dict[str, list[str]] = {}
    for doc in corpus.docs:
        if doc.title_from != "file" and doc.problem not in ("binary", "unreadable"):
            titles.setdefault(" ".join(doc.title.casefold().split()), []).append(doc.path)
    duplicates = {corpus.by_path[paths[0]].title: tuple(paths) for paths in titles.values() if len(paths) > 1}
    score, reasons = _quality(corpus, links, broken, orphans, duplicates, missing, issues)
    return DocsAnalysis(
        docs=corpus.docs,
        issues={path: tuple(codes) for path, codes in issues.items() if codes},
        links=links,
        broken_links=tuple(broken),
        orphans=orphans,
        duplicate_titles=duplicates,
        missing_metadata=missing,
        categories=dict(Counter(d.category for d in corpus.docs).most_common()),
        score=score,
        reasons=reasons,
    )


def _quality(
    corpus: DocSet,
    links: int,
    broken: list[BrokenLink],
    orphans: tuple[str, ...],
    duplicates: Mapping[str, tuple[str, ...]],
    missing: Mapping[str, tuple[str, ...]],
    issues: Mapping[str, list[str]],
) -> tuple[int, tuple[str, ...]]:
    """A 0-100 score: 100 minus bounded penalties, each with the reason it was taken."""
    docs = corpus.docs
    if not docs:
        return 0, ("-100: no Markdown documentation found",)
    penalties: list[tuple[int, str]] = []

    def penalize(points: float, reason: str) -> None:
        if round(points) > 0:
            penalties.append((round(points), reason))

    if links:
        penalize(min(30.0, 100 * len(broken) / links), f"{len(broken)} of {links} relative links are broken")
    expecting = sum(1 for d in docs if d.category in ("docs", "adr", "specs", "skills"))
    if expecting:
        penalize(20 * len(missing) / expecting, f"{len(missing)} of {expecting} docs lack expected front matter keys")
    linkable = sum(1 for d in docs if not is_entry_point(d.path))
    if linkable:
        penalize(20 * len(orphans) / linkable, f"{len(orphans)} of {linkable} docs are not linked from any other doc")
    penalize(min(10, 2 * len(duplicates)), f"{len(duplicates)} titles are shared by several docs")
    counts = Counter(code for codes in issues.values() for code in codes)
    penalize(min(10, 2 * counts["invalid_metadata"]), f"{counts['invalid_metadata']} docs have invalid front matter")
    penalize(min(10, 2 * counts["large"]), f"{counts['large']} docs are over {LARGE_DOC_BYTES // 1024} KiB")
    unreadable = counts["binary"] + counts["unreadable"] + counts["invalid_utf8"]
    penalize(min(10, 2 * unreadable), f"{unreadable} docs are binary, unreadable or not valid UTF-8")
    if not any(d.path.lower() == "readme.md" for d in docs):
        penalize(10, "no README.md at the project root")
    if corpus.tree_truncated:
        penalties.append((0, "the project exceeds CDE_SCAN_MAX_FILES; some link targets were not seen"))
    penalties.sort(key=lambda p: -p[0])
    score = max(0, 100 - sum(p for p, _ in penalties))
    return score, tuple(f"-{p}: {reason}" if p else reason for p, reason in penalties) or ("no problems found",)
