"""The DocsCorpus port: a project's Markdown files, parsed and analysed, and searchable with SQLite FTS5.

Freshness without walking the tree on every call: the list of docs derives from
the cached project walk (guarded by the fingerprints of every directory visited
and every ignore file read), so an unchanged tree costs one thread hop of
directory stats. Content changes are then seen by stat-ing the known docs only:

* the analysis is cached with the fingerprint of every doc it read, so an edit
  anywhere re-parses the docs (all of them: the analysis is cross-document);
* search keeps every doc's stamp and a kernel change watch (adapters/change_watch.py):
  a query re-indexes just the docs reported changed, in one hop with the query. The
  first query, a change of the tree's shape, another process writing the index, or
  an unusable watch make it stat every known doc instead and hand the stamps to
  `FtsIndex.sync`, which re-indexes only the docs whose stamp changed. That full
  check arms the watch on every folder *before* re-validating the walk it uses (see
  `FsDocsCorpus._watched_tree`), and runs once at a time per project.

Docs are read up to `max_bytes` (a 50 MB Markdown file is read partially and
flagged, never loaded whole); binary files (NUL byte) are not parsed; invalid
UTF-8 is decoded with replacement characters and flagged.
"""

from __future__ import annotations

import asyncio
import codecs
import os
import posixpath
import sqlite3
import stat as stat_module
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from adapters.change_watch import Changes, TreeWatch
from adapters.fts_index import FtsIndex, IndexedRecord, compile_query, index_failure
from adapters.markdown import Markdown, parse_markdown, sections, without_strong_markers
from adapters.project_tree import MARKER_FILES, FsProjectTree, ProjectTree, pruned_name
from adapters.text_files import Prints, is_binary, read_prefix
from domain.docs.analysis import DocsAnalysis, analyze_docs
from domain.docs.model import Category, DocSet, ParsedDoc, category_of
from domain.docs.search import DocSearchHit, DocsSearch
from domain.onboarding.classify import is_doc
from infrastructure.cache import add_dependencies, cached
from infrastructure.files import in_thread
from infrastructure.gil import GilYielder

INDEX_FILE = Path(".cde") / "cache" / "docs.db"
MAX_OPEN_INDEXES = 8
SNIPPET_TOKENS = 20
PART_CHARS = 8_000  # a section's body is indexed in pieces of about this many characters (see `parts`)
PER_DOC = 3  # at most this many sections of one doc in a search's hits
GIT_INFO = ".git/info"  # watched too: the walk honours .git/info/exclude
GIT_EXCLUDE = f"{GIT_INFO}/exclude"
ARM_ROUNDS = 3


def _decode(data: bytes, *, truncated: bool) -> tuple[str, str | None]:
    """(text, problem): UTF-8, tolerating a sequence cut by truncation; invalid bytes are replaced."""
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(data, final=not truncated)
        problem = None
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", "replace")
        problem = f"invalid UTF-8 at byte {exc.start}; read with replacement characters"
    return text.removeprefix("\ufeff").replace("\r\n", "\n"), problem


def _title(rel: str, parsed: Markdown) -> tuple[str, Literal["metadata", "heading", "file"]]:
    declared = (parsed.metadata or {}).get("title")
    if isinstance(declared, str) and declared.strip():
        return " ".join(declared.split())[:300], "metadata"
    heading = parsed.h1 or next((h.text for h in parsed.headings if h.text), None)
    if heading:
        return heading[:300], "heading"
    return posixpath.splitext(posixpath.basename(rel))[0], "file"


def _read_doc(root: str, rel: str, max_bytes: int, prints: Prints) -> tuple[int, str, str | None] | ParsedDoc:
    """(size, text, problem) of a doc, or the ParsedDoc saying why it has no text."""
    stem = posixpath.splitext(posixpath.basename(rel))[0]
    read = read_prefix(f"{root}/{rel}", max_bytes, prints)
    if read is None:
        return ParsedDoc(
            path=rel, size=0, title=stem, title_from="file", problem="unreadable", problem_detail="cannot be read"
        )
    size, data = read
    if is_binary(data):
        return ParsedDoc(
            path=rel, size=size, title=stem, title_from="file", problem="binary", problem_detail="binary content"
        )
    text, problem = _decode(data, truncated=size > max_bytes)
    return size, text, problem


def parse_doc(root: str, rel: str, max_bytes: int, prints: Prints) -> ParsedDoc:
    read = _read_doc(root, rel, max_bytes, prints)
    if isinstance(read, ParsedDoc):
        return read
    size, text, problem = read
    parsed = parse_markdown(text)
    title, title_from = _title(rel, parsed)
    return ParsedDoc(
        path=rel,
        size=size,
        title=title,
        title_from=title_from,
        metadata=parsed.metadata,
        metadata_error=parsed.metadata_error,
        anchors=parsed.anchors,
        headings=len(parsed.headings),
        links=parsed.links,
        problem="invalid_utf8" if problem else None,
        problem_detail=problem or "",
        truncated=size > max_bytes,
    )


def parts(body: str, size: int = PART_CHARS) -> list[str]:
    """`body` in pieces of at most about `size` characters, cut at line ends (or spaces) where it can.

    A search snippet re-reads its record, at a cost that grows with the square of its length:
    one 2 MiB section made every search for a word in it take 13 s. Each piece is a record of
    its own with the section's heading and anchor; search counts a section once.
    """
    if len(body) <= size:
        return [body]
    pieces = []
    start = 0
    while len(body) - start > size:
        cut = body.rfind("\n", start + size // 2, start + size)
        if cut < 0:
            cut = body.rfind(" ", start + size // 2, start + size)
        end = cut + 1 if cut >= 0 else start + size
        pieces.append(body[start:end])
        start = end
    pieces.append(body[start:])
    return pieces


def load_records(root: str, rel: str, max_bytes: int) -> list[IndexedRecord]:
    """A doc's search records: one per section (split at headings of level 1-3)."""
    read = _read_doc(root, rel, max_bytes, [])
    if isinstance(read, ParsedDoc):
        return []
    _, text, _ = read
    parsed = parse_markdown(text, with_links=False)
    title, _ = _title(rel, parsed)
    declared = (parsed.metadata or {}).get("tags")
    if isinstance(declared, str):  # "tags: setup, install"
        declared = tuple(declared.split(","))
    tags = [str(t).strip() for t in declared if str(t).strip()][:20] if isinstance(declared, tuple) else []
    attrs = {"category": category_of(rel)}
    records = [
        IndexedRecord(title=title, heading=s.heading, anchor=s.anchor, body=part, tags=tags, attrs=attrs)
        for s in sections(text, parsed)
        for part in parts(without_strong_markers(s.body))  # snippets mark matches in bold: no bold of its own
    ]
    return records or [IndexedRecord(title=title, body="", tags=tags, attrs=attrs)]


def doc_paths(tree: ProjectTree) -> tuple[str, ...]:
    return tuple(rel for rel in tree.files if is_doc(rel))


def analyze_sync(tree: ProjectTree, max_bytes: int) -> tuple[DocsAnalysis, Prints]:
    prints: Prints = []
    root = os.fspath(tree.root)
    gil = GilYielder()  # parsing every doc is Python work: the event loop must not wait for all of it
    docs = []
    for rel in doc_paths(tree):
        docs.append(parse_doc(root, rel, max_bytes, prints))
        gil.tick()
    corpus = DocSet(
        docs=tuple(docs),
        files=frozenset(tree.files),
        dirs=frozenset(tree.dirs),
        tree_truncated=tree.truncated,
        unwalked=frozenset(tree.unwalked),
    )
    return analyze_docs(corpus), prints


def _stamp(st: os.stat_result, max_bytes: int) -> str:
    """What a doc was indexed from: its fingerprint, and for a doc read in part (over `max_bytes`) that
    part's size, so a changed CDE_DOCS_MAX_BYTES re-indexes exactly the docs it reads differently."""
    read_in_part = f":{max_bytes}" if st.st_size > max_bytes else ""
    return f"{st.st_mtime_ns}:{st.st_size}:{st.st_ino}:{st.st_ctime_ns}{read_in_part}"


@dataclass
class _Live:
    """What search keeps about one project between calls."""

    index: FtsIndex
    watch: TreeWatch
    lock: threading.Lock = field(default_factory=threading.Lock)  # the index and watch, in worker threads
    refreshing: asyncio.Lock = field(default_factory=asyncio.Lock)  # one full check at a time
    # Every indexed doc's stamp as of the last full check; None until one ran (or the watch failed).
    stamps: dict[str, str] | None = None


def _query(live: _Live, query: str, limit: int, reindexed: int, category: Category | None) -> DocsSearch:
    attrs = {"category": category} if category else None
    hits = live.index.search(query, limit=limit, attrs=attrs, snippet_tokens=SNIPPET_TOKENS, per_source=PER_DOC)
    return DocsSearch(
        hits=[
            DocSearchHit(
                path=h.source, title=h.title, heading=h.heading, anchor=h.anchor, snippet=h.snippet, score=h.score
            )
            for h in hits
        ],
        docs=len(live.stamps or ()),
        reindexed=reindexed,
    )


def _reshaped(changes: Changes, stamps: dict[str, str]) -> bool:
    """Whether these changes may change which files are docs (so the walk must be re-validated)."""
    if changes.rescan:
        return True
    # Dependency, build and cache folders (`__pycache__` after a test run, our own `.cde`) never hold docs;
    # `.git` appearing or going changes the rules in .git/info/exclude.
    if any(d == ".git" or not pruned_name(posixpath.basename(d)) for d in changes.dirs):
        return True
    for rel in changes.paths:
        name = posixpath.basename(rel)
        if name == ".gitignore" or name in MARKER_FILES or rel == GIT_EXCLUDE or (is_doc(rel) and rel not in stamps):
            return True
    return False


def _refresh_changed(live: _Live, stamps: dict[str, str], base: str, max_bytes: int) -> int | None:
    """Re-index the docs the watch reports changed; None when a full check is needed instead."""
    changes = live.watch.changes()
    if _reshaped(changes, stamps) or live.index.written_elsewhere():
        return None
    reindexed = 0
    for rel in sorted(p for p in changes.paths if p in stamps):
        try:
            st: os.stat_result | None = os.stat(f"{base}/{rel}", follow_symlinks=False)
        except OSError:
            st = None
        if st is None or not stat_module.S_ISREG(st.st_mode):  # gone, or now a link or FIFO the walk skips
            live.index.remove([rel])
            del stamps[rel]
            reindexed += 1
            continue
        stamp = _stamp(st, max_bytes)
        if stamp != stamps[rel]:
            live.index.upsert(rel, stamp, FtsIndex.load_safely(rel, lambda r: load_records(base, r, max_bytes)))
            stamps[rel] = stamp
            reindexed += 1
    return reindexed


def search_fast_sync(
    live: _Live, root: Path, query: str, limit: int, max_bytes: int, category: Category | None = None
) -> DocsSearch | None:
    """Re-index just the docs the change watch reports, then query; None when a full check is needed.

    A full check is needed before the first one, when the watch is unusable, when
    the tree's shape may have changed (folders, ignore rules, a new doc: the walk
    decides whether it is ignored), and when another process wrote the index.
    Any failure also forgets the stamps: the changes drained here must not be lost.
    """
    compile_query(query)  # a malformed query is refused before any file is touched
    with live.lock:
        if live.stamps is None:
            return None
        try:
            reindexed = _refresh_changed(live, live.stamps, os.fspath(root), max_bytes)
            if reindexed is None:
                live.stamps = None
                return None
            return _query(live, query, limit, reindexed, category)
        except (OSError, sqlite3.Error) as exc:
            live.stamps = None
            raise index_failure(live.index.db_path, exc) from None
        except BaseException:
            live.stamps = None
            raise


def arm_watch_sync(live: _Live, dirs: Sequence[str]) -> bool:
    """Watch these folders (and .git/info), then drop the queued events: the walk re-validated next and
    the full check that follows cover everything that happened before. False if the watch is unusable."""
    with live.lock:
        if not live.watch.watch_dirs((*dirs, GIT_INFO)):
            return False
        live.watch.changes()
        return True


def search_full_sync(
    live: _Live,
    root: Path,
    tree: ProjectTree,
    query: str,
    limit: int,
    max_bytes: int,
    *,
    watched: bool,
    category: Category | None = None,
) -> DocsSearch:
    """Stat every doc of the walk, re-index what changed, then query: one thread hop.

    `watched`: the change watch covered every folder of `tree` before it was
    re-validated, so later queries may trust the watch instead of stat-ing.
    """
    compile_query(query)
    base = os.fspath(root)
    with live.lock:
        live.stamps = None
        stamps: dict[str, str] = {}
        for rel in doc_paths(tree):
            try:
                stamps[rel] = _stamp(os.stat(f"{base}/{rel}", follow_symlinks=False), max_bytes)
            except OSError:
                continue  # removed since the walk: dropped from the index
        try:
            stats = live.index.sync(stamps, lambda rel: load_records(base, rel, max_bytes))
            result = _query(live, query, limit, stats.changed, category)
        except (OSError, sqlite3.Error) as exc:
            raise index_failure(live.index.db_path, exc) from None
        live.stamps = stamps if watched else None
        result.docs = len(stamps)
        return result


_analyze = in_thread(analyze_sync)
_search_fast = in_thread(search_fast_sync)
_arm_watch = in_thread(arm_watch_sync)
_search_full = in_thread(search_full_sync)


def _close_sync(live: _Live) -> None:
    live.watch.close()
    live.index.close()


_close = in_thread(_close_sync)


class FsDocsCorpus:
    """Docs of any project root; one instance per process."""

    def __init__(self, trees: FsProjectTree, *, max_bytes: int) -> None:
        self._trees = trees
        self.max_bytes = max_bytes
        self._live: OrderedDict[Path, _Live] = OrderedDict()

    @cached("docs.analysis", maxsize=8)
    async def analysis(self, root: Path) -> DocsAnalysis:
        result, prints = await _analyze(await self._trees.tree(root), self.max_bytes)
        add_dependencies(prints)
        return result

    async def search(self, root: Path, query: str, limit: int, category: Category | None = None) -> DocsSearch:
        live = await self._live_for(root)
        found = await _search_fast(live, root, query, limit, self.max_bytes, category)
        if found is not None:
            return found
        async with live.refreshing:
            if live.stamps is not None:  # the full check this call waited for left the watch trusted
                found = await _search_fast(live, root, query, limit, self.max_bytes, category)
                if found is not None:
                    return found
            tree, watched = await self._watched_tree(live, root)
            return await _search_full(
                live, root, tree, query, limit, self.max_bytes, watched=watched, category=category
            )

    async def _watched_tree(self, live: _Live, root: Path) -> tuple[ProjectTree, bool]:
        """The project's walk, re-validated after the change watch covers every folder it lists.

        A change made before the watch covers a folder changes that folder's
        fingerprint, so the re-validation walks it again; a change made after is
        queued as an event. A folder first found by the re-validated walk was not
        watched while it was listed: arm it and re-validate once more.
        Returns (tree, whether the watch covered it).
        """
        tree = await self._trees.tree(root)
        for _ in range(ARM_ROUNDS):
            if not await _arm_watch(live, tree.dirs):
                return tree, False
            tree = await self._trees.tree(root)
            if live.watch.covers(tree.dirs):
                return tree, True
        return tree, False

    async def _live_for(self, root: Path) -> _Live:
        """The project's index and change watch; at most MAX_OPEN_INDEXES stay open (reopened on use)."""
        live = self._live.get(root)
        if live is None:
            live = self._live[root] = _Live(index=FtsIndex(root / INDEX_FILE), watch=TreeWatch(root))
        self._live.move_to_end(root)
        while len(self._live) > MAX_OPEN_INDEXES:
            _, evicted = self._live.popitem(last=False)
            await _close(evicted)
        return live

    async def close(self) -> None:
        """Close every open index and watch (a shutdown hook)."""
        while self._live:
            _, live = self._live.popitem()
            await _close(live)
