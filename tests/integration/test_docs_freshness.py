"""Docs search stays exact under tree changes, races and failures (kernel change watch and its fallbacks).

Each test drives `FsDocsCorpus` directly, with the change watch on, through a
sequence of edits that once left the index stale; the last search must see the
final state of the files.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from adapters.change_watch import TreeWatch
from adapters.docs_corpus import INDEX_FILE, FsDocsCorpus, load_records
from adapters.fts_index import FtsIndex
from adapters.project_tree import FsProjectTree, ProjectTree
from domain.docs.search import DocsSearch
from domain.errors import UnavailableError
from tests.trees import edit_in_place, make_tree

pytestmark = pytest.mark.skipif(not TreeWatch(Path("/")).active, reason="no kernel change notifications here")


@pytest.fixture
async def corpus() -> AsyncIterator[FsDocsCorpus]:
    docs = FsDocsCorpus(FsProjectTree(max_files=10_000), max_bytes=1 << 20)
    yield docs
    await docs.close()


def paths(found: DocsSearch) -> list[str]:
    return [hit.path for hit in found.hits]


def hook_walks(corpus: FsDocsCorpus, monkeypatch: pytest.MonkeyPatch, after: Callable[[int], Awaitable[None]]) -> None:
    """Run `after(n)` right after the n-th project walk (1-based) a search asks for returns."""
    trees = corpus._trees
    real = trees.tree
    calls = 0

    async def tree(root: Path) -> ProjectTree:
        nonlocal calls
        found = await real(root)
        calls += 1
        await after(calls)
        return found

    monkeypatch.setattr(trees, "tree", tree)


async def test_a_folder_renamed_away_and_recreated_is_still_watched(corpus: FsDocsCorpus, tmp_path: Path) -> None:
    root = make_tree(tmp_path, {"docs/a/sub/old.md": "# Old\n\napple\n"})
    assert paths(await corpus.search(root, "apple", 5)) == ["docs/a/sub/old.md"]
    (root / "docs" / "a").rename(root / "docs" / "b")
    assert paths(await corpus.search(root, "apple", 5)) == ["docs/b/sub/old.md"]
    make_tree(root, {"docs/a/sub/new.md": "# New\n\nkiwi\n"})
    assert paths(await corpus.search(root, "kiwi", 5)) == ["docs/a/sub/new.md"]
    edit_in_place(root / "docs" / "a" / "sub" / "new.md", "# New\n\nmango\n")
    assert paths(await corpus.search(root, "mango", 5)) == ["docs/a/sub/new.md"]


async def test_a_doc_written_into_a_new_folder_while_the_search_walks_is_seen(
    corpus: FsDocsCorpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(tmp_path, {"docs/one.md": "# One\n\napple\n"})
    await corpus.search(root, "apple", 5)
    await corpus.search(root, "apple", 5)
    (root / "docs" / "sub").mkdir()  # a change of the tree's shape: the next search walks again

    async def race(call: int) -> None:
        if call == 1:  # a new folder the walks from now on list
            make_tree(root, {"docs/new/first.md": "# First\n\npear\n"})
        if call == 2:  # just listed by the re-validated walk: a doc written now must not be missed
            make_tree(root, {"docs/new/late.md": "# Late\n\nplum\n"})

    hook_walks(corpus, monkeypatch, race)
    await corpus.search(root, "pear", 5)
    monkeypatch.undo()
    assert paths(await corpus.search(root, "plum", 5)) == ["docs/new/late.md"]


async def test_concurrent_searches_never_drop_a_doc_added_meanwhile(
    corpus: FsDocsCorpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(tmp_path, {"docs/one.md": "# One\n\napple\n"})
    await corpus.search(root, "apple", 5)
    (root / "docs" / "sub").mkdir()  # a change of the tree's shape: both searches below do a full check
    other: list[asyncio.Task[DocsSearch]] = []

    async def race(call: int) -> None:
        if call == 2:  # the first search holds an already re-validated walk
            make_tree(root, {"docs/sub/added.md": "# Added\n\nquince\n"})
            other.append(asyncio.create_task(corpus.search(root, "quince", 5)))
            # Let the second search finish before the first goes on, unless it must wait for it.
            refreshing = getattr(corpus._live[root], "refreshing", None)
            if refreshing is None or not refreshing.locked():
                await other[0]

    hook_walks(corpus, monkeypatch, race)
    await corpus.search(root, "apple", 5)
    await asyncio.gather(*other)
    monkeypatch.undo()
    assert paths(await corpus.search(root, "quince", 5)) == ["docs/sub/added.md"]


async def test_a_failed_refresh_loses_no_change(
    corpus: FsDocsCorpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(tmp_path, {"docs/one.md": "# One\n\napple\n", "docs/two.md": "# Two\n\nbanana\n"})
    await corpus.search(root, "apple", 5)
    await corpus.search(root, "apple", 5)
    edit_in_place(root / "docs" / "one.md", "# One\n\ncherry\n")
    edit_in_place(root / "docs" / "two.md", "# Two\n\ncherry\n")
    index = corpus._live[root].index
    real = index.upsert

    def fail_once(*args: object, **kwargs: object) -> None:
        monkeypatch.setattr(index, "upsert", real)
        raise OSError("disk full")

    monkeypatch.setattr(index, "upsert", fail_once)
    with pytest.raises(UnavailableError, match="disk full"):
        await corpus.search(root, "cherry", 5)
    assert sorted(paths(await corpus.search(root, "cherry", 5))) == ["docs/one.md", "docs/two.md"]


async def test_a_stale_write_by_another_process_is_corrected(corpus: FsDocsCorpus, tmp_path: Path) -> None:
    """Another server process sharing .cde/cache/docs.db read a doc before an edit and wrote it last."""
    root = make_tree(tmp_path / "p", {"docs/one.md": "# One\n\napple\n"})
    await corpus.search(root, "apple", 5)
    stale = load_records(os.fspath(root), "docs/one.md", 1 << 20)
    edit_in_place(root / "docs" / "one.md", "# One\n\ndamson\n")
    assert paths(await corpus.search(root, "damson", 5)) == ["docs/one.md"]
    other = FtsIndex(root / INDEX_FILE)  # the other process's connection
    try:
        await asyncio.to_thread(other.upsert, "docs/one.md", "0:0:0:0", stale)
    finally:
        other.close()
    assert paths(await corpus.search(root, "damson", 5)) == ["docs/one.md"]
    assert paths(await corpus.search(root, "apple", 5)) == []


async def test_git_exclude_and_cache_markers_change_what_is_searched(corpus: FsDocsCorpus, tmp_path: Path) -> None:
    root = make_tree(
        tmp_path,
        {
            ".git/info/exclude": "",
            ".git/HEAD": "ref: refs/heads/main\n",
            "docs/one.md": "# One\n\napple\n",
            "notes/two.md": "# Two\n\napple\n",
        },
    )
    assert sorted(paths(await corpus.search(root, "apple", 5))) == ["docs/one.md", "notes/two.md"]
    assert sorted(paths(await corpus.search(root, "apple", 5))) == ["docs/one.md", "notes/two.md"]
    (root / ".git" / "info" / "exclude").write_text("docs/\n", encoding="utf-8")
    assert paths(await corpus.search(root, "apple", 5)) == ["notes/two.md"]
    (root / "notes" / "CACHEDIR.TAG").write_text("Signature: 8a477f597d28d172789f06886806bc55", encoding="utf-8")
    assert paths(await corpus.search(root, "apple", 5)) == []


def test_an_overflowed_or_moved_watch_starts_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from inotify_simple import Event, flags

    make_tree(tmp_path, {"a/sub/x.md": "x", "b/y.md": "y"})
    watch = TreeWatch(tmp_path)
    try:
        assert watch.watch_dirs(["", "a", "a/sub", "b"]) and watch.covers(["", "a", "a/sub", "b"])
        os.rename(tmp_path / "a", tmp_path / "c")
        changes = watch.changes()
        assert changes.dirs >= {"a", "c"} and not changes.rescan
        assert not watch.covers(["a/sub"]) and watch.covers(["", "b"])  # the moved folder's watches are gone
        assert watch.watch_dirs(["c", "c/sub"]) and watch.covers(["", "b", "c", "c/sub"])
        inotify = watch._inotify
        assert inotify is not None
        overflow = [Event(-1, flags.Q_OVERFLOW, 0, "")]
        monkeypatch.setattr(inotify, "read", lambda timeout=None: overflow)
        assert watch.changes().rescan
        assert watch.active and not watch.covers(["b"])  # every watch dropped: the caller re-arms
        assert watch.watch_dirs(["", "b"]) and watch.covers(["", "b"])
    finally:
        watch.close()


def test_a_tree_with_more_folders_than_its_share_of_watches_is_checked_file_by_file(tmp_path: Path) -> None:
    make_tree(tmp_path, {"a/x.md": "x", "b/y.md": "y"})
    watch = TreeWatch(tmp_path, budget=2)
    try:
        assert not watch.watch_dirs(["", "a", "b"])
        assert not watch.active and watch.changes().rescan and not watch.covers([""])
    finally:
        watch.close()
