"""The spec store's reads back: cached by file fingerprint, counted honestly."""

from __future__ import annotations

from pathlib import Path

from adapters.fs_spec_store import FsSpecStore, read_document


async def test_documents_read_back_are_hits_once_cached_and_a_missing_one_counts_once(tmp_path: Path) -> None:
    (tmp_path / "specs" / "feat").mkdir(parents=True)
    (tmp_path / "specs" / "feat" / "spec.md").write_text("The spec.\n")
    store = FsSpecStore(tmp_path)
    wanted = ["specs/feat/spec.md", "specs/feat/missing.md"]
    read_document.cache.clear()
    before = read_document.cache.stats()
    for _ in range(3):
        assert await store.read(wanted) == {"specs/feat/spec.md": "The spec.\n"}
    stats = read_document.cache.stats()
    assert (stats.misses - before.misses, stats.hits - before.hits) == (2, 4)  # then 2 hits per read
    (tmp_path / "specs" / "feat" / "missing.md").write_text("Now here.\n")
    assert (await store.read(wanted))["specs/feat/missing.md"] == "Now here.\n"
