"""Full-text search with SQLite FTS5 (BM25), kept in sync with source files by fingerprint.

One generic index serves every searchable corpus (documentation sections,
skills): a *source* (usually a file) yields *records* (a section, a skill) with
title / heading / tags / body text, plus scalar `attrs` and `tags` to filter on.
`sync()` receives the current stamp of every source and re-loads only the sources
whose stamp changed, inserts new ones and drops removed ones, in transactions of
`SYNC_BATCH` sources (each source's records and stamp always change together).

The database lives under a project's `.cde/cache/`: it is derived data, so a
corrupt or outdated file is deleted and rebuilt rather than reported. Every
method is synchronous and meant to run inside one worker-thread hop
(`infrastructure.files.in_thread`); a lock serialises use of the connection.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain.errors import ConflictError, DomainError, InvalidInputError, PermissionDeniedError, UnavailableError
from infrastructure.files import os_error
from infrastructure.gil import GilYielder

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 5  # older indexes are rebuilt. 2: a long docs section in parts; 3: no bold of its own;
# 4: unspaced scripts (Chinese, Japanese, Korean) indexed a character at a time; 5: more of them, a doc's
# own marker characters dropped, bold in nested list items taken out
MAX_QUERY_CHARS = 500
MAX_LIMIT = 100  # hits a caller may ask for
MAX_FETCH = 1000  # rows a library may read for them, when it leaves some out (shadowed, expired skills)
SYNC_BATCH = 256  # sources loaded and written per transaction
HIGHLIGHT = ("**", "**")

# Column weights for bm25(): a hit in a title says more than a hit in the body.
_WEIGHTS = {"title": 10.0, "heading": 5.0, "tags": 4.0, "body": 1.0}
_COLUMNS = tuple(_WEIGHTS)

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS sources (source TEXT PRIMARY KEY, stamp TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    anchor TEXT NOT NULL,
    attrs TEXT NOT NULL,
    tags TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_source ON records(source);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
    {", ".join(_COLUMNS)},
    tokenize = 'porter unicode61 remove_diacritics 2',
    prefix = '2 3'
);
PRAGMA user_version = {SCHEMA_VERSION};
"""

_WORD = re.compile(r"[\w]+", re.UNICODE)

# Scripts written without spaces between words (Han, kana, Hangul): the tokenizer would take a whole
# run of them for one word, so `搜索` could never find `我们使用全文搜索`. Each of their characters
# is indexed as a word of its own (a zero-width space around it, which the tokenizer splits at and
# which is taken out of everything shown), and a query's run of them becomes the phrase of its
# characters: found wherever those characters stand in that order.
_UNSPACED = (
    "\u3005-\u3007\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
    "\uff66-\uff9f\U00020000-\U0003134f"
)
_UNSPACED_RUN = re.compile(f"[{_UNSPACED}]+")
_SPLIT = "\u200b"
_SUBWORD = re.compile(f"[{_UNSPACED}]|[^{_UNSPACED}]+")
# Characters that mean something in the stored text: the match markers SQLite puts around highlights
# (`_marked_up`), dropped from a document's text when it is indexed, and the separator above, which
# becomes a space there (it separates words, as a space does).
_MARKERS = re.compile("[\x01\x02]")


def _indexable(text: str) -> str:
    """`text` with each character of an unspaced script set apart, for the tokenizer."""
    if "\x01" in text or "\x02" in text:
        text = _MARKERS.sub("", text)
    if text.isascii():
        return text
    return _UNSPACED_RUN.sub(
        lambda run: _SPLIT + _SPLIT.join(run.group(0)) + _SPLIT, text.replace(_SPLIT, " ") if _SPLIT in text else text
    )


def _shown(text: str) -> str:
    """Stored text as it was written: without the separators `_indexable` added."""
    return text.replace(_SPLIT, "") if _SPLIT in text else text


def _subwords(word: str) -> list[str]:
    """The tokens the index holds for a query word: itself, or its pieces around unspaced characters."""
    return _SUBWORD.findall(word) if not word.isascii() else [word]


@dataclass(frozen=True)
class IndexedRecord:
    """One searchable unit of a source."""

    title: str
    body: str
    heading: str = ""
    anchor: str = ""  # where in the source: a heading slug, a line number...
    tags: Sequence[str] = ()
    attrs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchHit:
    source: str
    title: str
    heading: str
    anchor: str
    snippet: str
    score: float  # higher is better (negated BM25)
    attrs: Mapping[str, str]
    tags: Sequence[str]
    # With `search(..., explain=True)`: column → the distinct query terms found in it, as written there.
    matched: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class SyncStats:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    records: int = 0

    @property
    def changed(self) -> int:
        return self.added + self.updated + self.removed


def compile_query(query: str) -> tuple[str, str]:
    """Translate a user query into safe FTS5 syntax: (AND form, OR form).

    Supported: plain words, "exact phrases", prefix* terms, -excluded terms (not
    `--flags`, which are searched for), and the operators OR / NOT in capitals. Everything else is quoted, so no
    input can inject FTS5 syntax; a malformed query raises InvalidInputError.
    """
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInputError(f"query is longer than {MAX_QUERY_CHARS} characters; shorten it")
    if query.count('"') % 2:
        raise InvalidInputError("query has an unbalanced double quote; close the phrase or remove the quote")
    positives: list[str] = []
    negatives: list[str] = []
    pending_or = False
    negate_next = False
    for match in re.finditer(r'(-?)"([^"]*)"(\*?)|(\S+)', query):
        if match.group(4) is None:
            words = [piece for word in _WORD.findall(match.group(2)) for piece in _subwords(word)]
            if not words:
                continue
            term = '"' + " ".join(words) + '"' + match.group(3)
            negate = bool(match.group(1)) or negate_next
        else:
            raw = match.group(4)
            if raw in ("OR", "AND", "NOT"):
                if raw == "OR":
                    pending_or = bool(positives)
                elif raw == "NOT":
                    negate_next = True
                continue
            # `-word` excludes it; `--word` is a command-line flag, searched for (`--version`).
            negate = (raw.startswith("-") and not raw.startswith("--")) or negate_next
            prefix = raw.endswith("*")
            words = [piece for word in _WORD.findall(raw) for piece in _subwords(word)]
            if not words:
                continue
            term = " ".join(f'"{w}"' for w in words)
            if len(words) > 1:  # "foo-bar" or "a.b" means the phrase of its parts
                term = '"' + " ".join(words) + '"'
            if prefix:
                term += "*"
        negate_next = False
        if negate:
            negatives.append(term)
        elif pending_or and positives:
            positives[-1] = f"({positives[-1]} OR {term})"
            pending_or = False
        else:
            positives.append(term)
    if pending_or or negate_next:
        raise InvalidInputError("query ends with an operator (OR / NOT); add the term it applies to")
    if not positives:
        if negatives:
            raise InvalidInputError(
                'query has only excluded terms; add at least one word to search for (quote a flag to find it: "-v")'
            )
        raise InvalidInputError("query has no searchable words; use letters or digits")
    tail = "".join(f" NOT {n}" for n in negatives)
    return " AND ".join(positives) + tail, " OR ".join(positives) + tail


class FtsIndex:
    """A SQLite FTS5 index file; see the module docstring."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        # The sources table as last read or written by this connection, valid while SQLite's
        # data_version says no other connection committed since: sync() then needs no table scan.
        self._known: dict[str, str] | None = None
        self._known_version = -1

    # -- connection ------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        _ignore_cache_dir(self.db_path.parent)
        try:
            conn = self._open()
        except sqlite3.DatabaseError as exc:
            logger.warning("search index %s is unusable (%s); rebuilding it", self.db_path, exc)
            self._delete_files()
            conn = self._open()
        self._conn = conn
        self._known = None
        self._known_version = -1  # a new connection (maybe a rebuilt file): written_elsewhere() until synced
        return conn

    def _files(self) -> list[str]:
        """The index and its WAL journals."""
        return [f"{self.db_path}{suffix}" for suffix in ("", "-wal", "-shm")]

    def _unlink_links(self) -> None:
        """Drop a symlink in place of the index or its journals: SQLite would write through it (and could
        clear another program's tables there). The cache is ours and rebuildable; the link's target stays."""
        for path in self._files():
            if os.path.islink(path):
                logger.warning("%s is a symlink; removed (the search index is rebuilt in its place)", path)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)

    def _open(self) -> sqlite3.Connection:
        self._unlink_links()
        conn = sqlite3.connect(self.db_path, check_same_thread=False, isolation_level=None, timeout=10.0)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # derived data: losing the last commit on power loss is fine
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                conn.executescript(
                    "DROP TABLE IF EXISTS fts; DROP TABLE IF EXISTS records; DROP TABLE IF EXISTS sources;"
                )
            conn.executescript(_SCHEMA)
            conn.execute("SELECT count(*) FROM sources").fetchone()
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def _delete_files(self) -> None:
        for path in self._files():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _retrying(self, operation: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run `operation`; if the file turns out corrupt, rebuild it empty and run it once more."""
        with self._lock:
            try:
                return operation(self._connect())
            except sqlite3.DatabaseError as exc:
                if isinstance(exc, sqlite3.OperationalError) and "fts5" in str(exc).lower():
                    raise
                logger.warning("search index %s failed (%s); rebuilding it", self.db_path, exc)
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None
                self._delete_files()
                return operation(self._connect())

    # -- maintenance -----------------------------------------------------------------------------

    def sync(self, stamps: Mapping[str, str], load: Callable[[str], Sequence[IndexedRecord]]) -> SyncStats:
        """Make the index reflect exactly `stamps` (source → content stamp), loading only what changed.

        `load(source)` returns the records of a source; if it raises OSError or a
        DomainError the source is indexed with no records (and retried when its
        stamp changes), so one unreadable file never blocks the others.
        """
        return self._retrying(lambda conn: self._sync(conn, stamps, load))  # type: ignore[no-any-return]

    def _known_stamps(self, conn: sqlite3.Connection) -> dict[str, str]:
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if self._known is None or version != self._known_version:
            self._known = dict(conn.execute("SELECT source, stamp FROM sources").fetchall())
            self._known_version = version
        return self._known

    def _sync(
        self,
        conn: sqlite3.Connection,
        stamps: Mapping[str, str],
        load: Callable[[str], Sequence[IndexedRecord]],
    ) -> SyncStats:
        known = self._known_stamps(conn)
        removed = [s for s in known if s not in stamps]
        changed = [s for s, stamp in stamps.items() if known.get(s) != stamp]
        if not removed and not changed:
            return SyncStats(unchanged=len(stamps))
        added = sum(1 for s in changed if s not in known)
        records = 0
        # Load and write in batches: a cold build of 10,000 docs never holds all their records at once
        # (less memory, and far less garbage-collector work, whose pauses would stall the event loop).
        gil = GilYielder()  # loading is Python work (parsing): the event loop must not wait for all of it
        for start in range(0, max(len(changed), 1), SYNC_BATCH):
            batch = []
            for source in changed[start : start + SYNC_BATCH]:
                batch.append((source, self.load_safely(source, load)))
                gil.tick()
            records += self._write(conn, stamps, removed if start == 0 else [], batch)
        return SyncStats(
            added=added,
            updated=len(changed) - added,
            removed=len(removed),
            unchanged=len(stamps) - len(changed),
            records=records,
        )

    def _write(
        self,
        conn: sqlite3.Connection,
        stamps: Mapping[str, str],
        removed: Sequence[str],
        loaded: Sequence[tuple[str, Sequence[IndexedRecord]]],
    ) -> int:
        """Drop `removed`, replace the records of each loaded source and its stamp: one transaction."""
        records = 0
        conn.execute("BEGIN IMMEDIATE")
        try:
            for source in (*removed, *(source for source, _ in loaded)):
                self._drop_source(conn, source)
            conn.executemany("DELETE FROM sources WHERE source = ?", [(s,) for s in removed])
            for source, items in loaded:
                records += self._insert(conn, source, items)
                conn.execute(
                    "INSERT INTO sources(source, stamp) VALUES (?, ?) "
                    "ON CONFLICT(source) DO UPDATE SET stamp = excluded.stamp",
                    (source, stamps[source]),
                )
            conn.execute("COMMIT")
        except BaseException:
            self._known = None
            conn.execute("ROLLBACK")
            raise
        if self._known is not None:
            for source in removed:
                self._known.pop(source, None)
            self._known.update((source, stamps[source]) for source, _ in loaded)
        return records

    @staticmethod
    def load_safely(source: str, load: Callable[[str], Sequence[IndexedRecord]]) -> Sequence[IndexedRecord]:
        try:
            return load(source)
        except (OSError, DomainError) as exc:
            logger.info("not indexing %s: %s", source, exc)
            return ()

    @staticmethod
    def _insert(conn: sqlite3.Connection, source: str, records: Sequence[IndexedRecord]) -> int:
        for record in records:
            cursor = conn.execute(
                "INSERT INTO records(source, anchor, attrs, tags) VALUES (?, ?, ?, ?)",
                (source, record.anchor, json.dumps(dict(record.attrs)), json.dumps(list(record.tags))),
            )
            conn.execute(
                "INSERT INTO fts(rowid, title, heading, tags, body) VALUES (?, ?, ?, ?, ?)",
                (
                    cursor.lastrowid,
                    _indexable(record.title),
                    _indexable(record.heading),
                    _indexable(" ".join(record.tags)),
                    _indexable(record.body),
                ),
            )
        return len(records)

    @staticmethod
    def _drop_source(conn: sqlite3.Connection, source: str) -> None:
        conn.execute("DELETE FROM fts WHERE rowid IN (SELECT id FROM records WHERE source = ?)", (source,))
        conn.execute("DELETE FROM records WHERE source = ?", (source,))

    def upsert(self, source: str, stamp: str, records: Sequence[IndexedRecord]) -> None:
        """Replace one source's records at once (a write through our own adapter), without a full sync."""
        self.upsert_many([(source, stamp, records)])

    def upsert_many(self, items: Sequence[tuple[str, str, Sequence[IndexedRecord]]]) -> None:
        """`upsert` for several sources, in one transaction."""

        def run(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for source, stamp, records in items:
                    self._drop_source(conn, source)
                    self._insert(conn, source, records)
                    conn.execute(
                        "INSERT INTO sources(source, stamp) VALUES (?, ?) "
                        "ON CONFLICT(source) DO UPDATE SET stamp = excluded.stamp",
                        (source, stamp),
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            if self._known is not None:  # our own commit: data_version does not move for this connection
                self._known.update((source, stamp) for source, stamp, _ in items)

        if items:
            self._retrying(run)

    def remove(self, sources: Sequence[str]) -> int:
        """Forget these sources and their records; returns how many were indexed."""

        def run(conn: sqlite3.Connection) -> int:
            conn.execute("BEGIN IMMEDIATE")
            try:
                removed = 0
                for source in sources:
                    self._drop_source(conn, source)
                    removed += conn.execute("DELETE FROM sources WHERE source = ?", (source,)).rowcount
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            if self._known is not None:
                for source in sources:
                    self._known.pop(source, None)
            return removed

        return self._retrying(run)  # type: ignore[no-any-return]

    def written_elsewhere(self) -> bool:
        """Whether another connection (another server process) committed since `sync()` last read the sources."""

        def run(conn: sqlite3.Connection) -> bool:
            return bool(conn.execute("PRAGMA data_version").fetchone()[0] != self._known_version)

        return self._retrying(run)  # type: ignore[no-any-return]

    def empty_sources(self) -> list[str]:
        """Sources indexed without any record, sorted: those whose `load` failed (see `sync`)."""

        def run(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute(
                "SELECT source FROM sources WHERE NOT EXISTS "
                "(SELECT 1 FROM records WHERE records.source = sources.source) ORDER BY source"
            ).fetchall()
            return [str(row[0]) for row in rows]

        return self._retrying(run)  # type: ignore[no-any-return]

    def count(self) -> tuple[int, int]:
        """(sources, records) currently indexed."""

        def run(conn: sqlite3.Connection) -> tuple[int, int]:
            sources = conn.execute("SELECT count(*) FROM sources").fetchone()[0]
            records = conn.execute("SELECT count(*) FROM records").fetchone()[0]
            return int(sources), int(records)

        return self._retrying(run)  # type: ignore[no-any-return]

    # -- search ----------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        limit: int = 10,
        attrs: Mapping[str, str] | None = None,
        tags: Sequence[str] = (),
        snippet_tokens: int = 16,
        explain: bool = False,
        per_source: int | None = None,
        tiered: bool = False,
    ) -> list[SearchHit]:
        """Best `limit` records for `query` (BM25), filtered by exact `attrs` and all of `tags`.

        `tiered`: records matching in their title come first, then in their heading, then in their
        tags, then in their body only; BM25 orders each tier (its weights alone let a few mentions
        in a long body outrank a title that is the query).

        All words must match; when that finds nothing, any word may match. With
        `explain`, each hit's `matched` names the terms found per column. `snippet_tokens=0`
        leaves the snippet out (empty). Records sharing a source and anchor (the parts of a long
        section) count once, by their best part; `per_source` caps the hits of any one source.
        """
        _check_limit(limit)
        strict, relaxed = compile_query(query)
        cap = per_source or limit
        hits = self._query(strict, limit, attrs or {}, tags, snippet_tokens, explain, cap, tiered)
        if not hits and relaxed != strict:
            hits = self._query(relaxed, limit, attrs or {}, tags, snippet_tokens, explain, cap, tiered)
        return hits

    def browse(
        self,
        *,
        limit: int = 10,
        offset: int = 0,
        attrs: Mapping[str, str] | None = None,
        tags: Sequence[str] = (),
    ) -> list[SearchHit]:
        """Records matching the filters without a query, ordered by title then source (score 0, no snippet)."""
        _check_limit(limit)
        if offset < 0:
            raise InvalidInputError(f"offset must be >= 0; got {offset}")
        where, params = _filters(attrs or {}, tags)
        sql = (
            "SELECT r.source, fts.title, fts.heading, r.anchor, '', 0.0, r.attrs, r.tags "
            "FROM records r JOIN fts ON fts.rowid = r.id"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + " ORDER BY fts.title, r.source LIMIT ? OFFSET ?"
        )
        return self._fetch(sql, [*params, limit, offset], explain=False)

    def _query(
        self,
        expression: str,
        limit: int,
        attrs: Mapping[str, str],
        tags: Sequence[str],
        snippet_tokens: int,
        explain: bool,
        per_source: int,
        tiered: bool = False,
    ) -> list[SearchHit]:
        weights = ", ".join(str(w) for w in _WEIGHTS.values())
        where, params = _filters(attrs, tags)
        matching = f"FROM fts JOIN records r ON r.id = fts.rowid WHERE {' AND '.join(['fts MATCH ?', *where])}"
        marks = "".join(f", highlight(fts, {i}, char(1), char(2))" for i in range(len(_COLUMNS))) if explain else ""
        # A snippet re-tokenises its record (~0.1 ms for a short one; records are kept short, see
        # docs_corpus.parts): only when the caller shows it.
        snippet = "snippet(fts, -1, ?, ?, '…', ?)" if snippet_tokens else "''"
        columns = (
            f"r.source, fts.title, fts.heading, r.anchor, {snippet}, bm25(fts, {weights}) AS rank, r.attrs, r.tags"
        )
        marker_args = ["\x01", "\x02", snippet_tokens] if snippet_tokens else []  # see `_marked_up`
        order, tier = "rank", ""
        if tiered:  # the first column matching decides the tier (one pass over its matches each)
            groups = _COLUMNS[:-1]
            cases = " ".join(
                f"WHEN fts.rowid IN (SELECT rowid FROM fts WHERE fts MATCH ?) THEN {i}" for i in range(len(groups))
            )
            tier = f", CASE {cases} ELSE {len(groups)} END AS tier"
            marker_args = [*marker_args, *(f"{{{column}}} : ({expression})" for column in groups)]
            order = "tier, rank"
        sql = f"SELECT {columns}{marks}{tier} {matching} ORDER BY {order} LIMIT ?"
        # Every match in rank order, read only as far as the caps need: ranked once (asking for more and more
        # rows until enough survived the caps ran the query up to 8 times on a CHANGELOG of 5,000 sections).
        ranked = f"SELECT fts.rowid, r.source, r.anchor {matching} ORDER BY bm25(fts, {weights})"

        def run(conn: sqlite3.Connection) -> list[SearchHit]:
            hits = _hits(_execute(conn, sql, [*marker_args, expression, *params, limit]), explain=explain)
            keep = _kept(per_source)
            if all(keep(hit.source, hit.anchor) for hit in hits):  # the usual case: nothing to set aside
                return hits
            # Ranks alone for a few times `limit` rows, then snippets for the hits kept only.
            chosen = _best(conn, ranked, [expression, *params], limit, per_source)
            decorated = (
                f"SELECT {columns}{marks}{tier} FROM fts JOIN records r ON r.id = fts.rowid "
                f"WHERE fts MATCH ? AND fts.rowid IN ({', '.join('?' * len(chosen))}) ORDER BY {order}"
            )
            return _hits(_execute(conn, decorated, [*marker_args, expression, *chosen]), explain=explain)

        return self._retrying(run)  # type: ignore[no-any-return]

    def _fetch(self, sql: str, args: Sequence[Any], *, explain: bool) -> list[SearchHit]:
        return self._retrying(lambda conn: _hits(_execute(conn, sql, args), explain=explain))  # type: ignore[no-any-return]


def _execute(conn: sqlite3.Connection, sql: str, args: Sequence[Any]) -> list[Any]:
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError as exc:
        raise _query_error(exc) from None


def _query_error(exc: sqlite3.OperationalError) -> Exception:
    """A query FTS5 refuses is the caller's to fix; any other failure stays what it is."""
    if "fts5" in str(exc).lower() or "syntax" in str(exc).lower():
        return InvalidInputError(f"malformed search query: {exc}")
    return exc


def _best(conn: sqlite3.Connection, ranked_sql: str, args: list[Any], limit: int, per_source: int) -> list[int]:
    """Ids of the first `limit` rows of `ranked_sql` (rowid, source, anchor, in rank order) that `_kept` keeps,
    reading its rows one by one and no further than that."""
    keep = _kept(per_source)
    chosen: list[int] = []
    try:
        for rowid, source, anchor in conn.execute(ranked_sql, args):
            if keep(source, anchor):
                chosen.append(rowid)
                if len(chosen) == limit:
                    break
    except sqlite3.OperationalError as exc:
        raise _query_error(exc) from None
    return chosen


def _hits(rows: list[Any], *, explain: bool) -> list[SearchHit]:
    return [
        SearchHit(
            source=row[0],
            title=_shown(row[1]),
            heading=_shown(row[2]),
            anchor=row[3],
            snippet=_marked_up(" ".join(row[4].split())),
            score=float(f"{-row[5]:.4g}") or 0.0,  # significant digits: BM25 of common words is ~1e-6
            attrs=json.loads(row[6]),
            tags=json.loads(row[7]),
            matched=_matched(row[8 : 8 + len(_COLUMNS)]) if explain else {},
        )
        for row in rows
    ]


def _kept(per_source: int) -> Callable[[str, str], bool]:
    """A filter over hits in rank order: one per source and anchor (the parts of a long section count
    once, by their best) and at most `per_source` per source."""
    sections: set[tuple[str, str]] = set()
    per: dict[str, int] = {}

    def keep(source: str, anchor: str) -> bool:
        if (source, anchor) in sections or per.get(source, 0) >= per_source:
            return False
        sections.add((source, anchor))
        per[source] = per.get(source, 0) + 1
        return True

    return keep


# Errors with a fix of their own; for the others "delete .cde/cache/ and retry" fits.
_EXPLAINED = {errno.ENAMETOOLONG, errno.ELOOP, errno.ENOSPC, errno.EDQUOT}
SQLITE_MAX_PATH = 512  # the unix VFS's limit on a database path, in bytes with the terminating NUL


def index_failure(db_path: Path, exc: OSError | sqlite3.Error) -> DomainError:
    """The one-line error for an index that cannot be created, written or read."""
    text = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
    lowered = text.lower()
    if isinstance(exc, sqlite3.Error) and len(os.fsencode(db_path)) >= SQLITE_MAX_PATH:
        return UnavailableError(
            f"the search index {db_path} has a path of {len(os.fsencode(db_path))} bytes, longer than SQLite "
            f"opens ({SQLITE_MAX_PATH - 1}); work on the project from a shorter path"
        )
    if "locked" in lowered or "busy" in lowered:
        return ConflictError(f"the search index {db_path} stayed locked by another process; retry")
    if (
        isinstance(exc, PermissionError)
        or (isinstance(exc, OSError) and exc.errno == errno.EROFS)
        or "read-only" in lowered
        or "readonly" in lowered
        or "unable to open" in lowered
    ):
        return PermissionDeniedError(f"cannot write the search index {db_path} ({text}); make .cde/cache/ writable")
    if isinstance(exc, OSError) and exc.errno in _EXPLAINED:  # the usual one-line explanation says what to fix
        return os_error(db_path, exc)
    return UnavailableError(f"the search index {db_path} cannot be used ({text}); delete .cde/cache/ and retry")


def _ignore_cache_dir(cache_dir: Path) -> None:
    """Make the index's folder (`.cde/cache/`) ignore itself in git, as pytest does, even before
    cde_setupProject writes .cde/.gitignore: skill and docs searches create it in any project."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    marker = cache_dir / ".gitignore"
    if os.path.lexists(marker):
        return
    with contextlib.suppress(OSError):  # created only if absent, never through a symlink; losing it is harmless
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("# Rebuildable data written by cde-orchestrator.\n*\n")


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_FETCH:
        raise InvalidInputError(f"limit must be between 1 and {MAX_FETCH}; got {limit}")


def _filters(attrs: Mapping[str, str], tags: Sequence[str]) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    for key, value in attrs.items():
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", key):
            raise InvalidInputError(f"unknown filter {key!r}")
        where.append(f"json_extract(r.attrs, '$.{key}') = ?")
        params.append(value)
    for tag in tags:
        where.append("EXISTS (SELECT 1 FROM json_each(r.tags) WHERE json_each.value = ?)")
        params.append(tag)
    return where, params


_MARKED = re.compile("\x01(.*?)\x02", re.DOTALL)


def _joined(highlighted: str) -> str:
    """Highlighted text as written; matches that touch (the characters of an unspaced word) as one."""
    return _shown(highlighted).replace("\x02\x01", "")


def _marked_up(snippet: str) -> str:
    """A snippet with its matches in `**bold**` (marked `\x01`...`\x02` by SQLite)."""
    return _joined(snippet).replace("\x01", HIGHLIGHT[0]).replace("\x02", HIGHLIGHT[1])


def _matched(highlighted: Sequence[str | None]) -> dict[str, list[str]]:
    """Column → distinct highlighted terms (lowercased, in order of appearance)."""
    found: dict[str, list[str]] = {}
    for column, text in zip(_COLUMNS, highlighted, strict=True):
        terms = list(dict.fromkeys(m.lower() for m in _MARKED.findall(_joined(text or ""))))
        if terms:
            found[column] = terms
    return found
