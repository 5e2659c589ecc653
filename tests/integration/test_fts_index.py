from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from adapters import fts_index
from adapters.fts_index import SCHEMA_VERSION, FtsIndex, IndexedRecord, compile_query
from domain.errors import InvalidInputError

DOCS = {
    "guide.md": [
        IndexedRecord(
            title="User guide", heading="Installing", anchor="installing", body="Install with pip and a virtualenv."
        ),
        IndexedRecord(
            title="User guide",
            heading="Caching",
            anchor="caching",
            body="The cache invalidates entries by file fingerprint.",
        ),
    ],
    "adr/0001.md": [
        IndexedRecord(
            title="Use SQLite FTS5",
            body="We chose an embedded search engine with BM25 ranking.",
            tags=("decision", "search"),
            attrs={"category": "adr"},
        )
    ],
    "notes.md": [IndexedRecord(title="Notes", body="Random thoughts about caching strategies and stale reads.")],
}


def stamps(version: str = "1") -> dict[str, str]:
    return {source: version for source in DOCS}


def build(tmp_path: Path) -> tuple[FtsIndex, list[str]]:
    loads: list[str] = []

    def load(source: str) -> list[IndexedRecord]:
        loads.append(source)
        return DOCS[source]

    index = FtsIndex(tmp_path / "cache" / "search.db")
    stats = index.sync(stamps(), load)
    assert stats.added == 3 and stats.records == 4
    return index, loads


def indexed(tmp_path: Path, records: dict[str, list[IndexedRecord]]) -> FtsIndex:
    """An index holding exactly `records` (source → its records)."""
    index = FtsIndex(tmp_path / "cache" / "search.db")
    index.sync(dict.fromkeys(records, "1"), records.__getitem__)
    return index


def test_search_ranks_title_matches_first_and_highlights(tmp_path: Path) -> None:
    index, _ = build(tmp_path)
    hits = index.search("sqlite")
    assert [h.source for h in hits] == ["adr/0001.md"]
    hits = index.search("caching")
    assert hits[0].heading == "Caching"  # heading weight beats a body mention
    assert {h.source for h in hits} == {"guide.md", "notes.md"}
    assert "**" in hits[0].snippet


def test_phrase_prefix_exclusion_and_or(tmp_path: Path) -> None:
    index, _ = build(tmp_path)
    assert [h.anchor for h in index.search('"file fingerprint"')] == ["caching"]
    assert index.search('"fingerprint file"') == []
    assert {h.source for h in index.search("virtualen*")} == {"guide.md"}
    assert {h.source for h in index.search("caching -stale")} == {"guide.md"}
    assert {h.source for h in index.search("sqlite OR virtualenv")} == {"adr/0001.md", "guide.md"}


def test_all_words_then_any_word(tmp_path: Path) -> None:
    index, _ = build(tmp_path)
    # No record has both words: the relaxed OR form still answers.
    assert {h.source for h in index.search("bm25 virtualenv")} == {"adr/0001.md", "guide.md"}


def test_filters_by_attrs_and_tags(tmp_path: Path) -> None:
    index, _ = build(tmp_path)
    assert [h.source for h in index.search("search OR cache", attrs={"category": "adr"})] == ["adr/0001.md"]
    assert [h.source for h in index.search("engine", tags=["decision"])] == ["adr/0001.md"]
    assert index.search("engine", tags=["decision", "missing"]) == []


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ('"unbalanced', "unbalanced double quote"),
        ("-only", "only excluded"),
        ("caching OR", "ends with an operator"),
        ("!!! ???", "no searchable words"),
        ("x" * 600, "longer than"),
    ],
)
def test_malformed_queries_are_clear_errors(tmp_path: Path, query: str, fragment: str) -> None:
    index, _ = build(tmp_path)
    with pytest.raises(InvalidInputError, match=fragment):
        index.search(query)


def test_a_command_line_flag_is_searched_for_not_excluded(tmp_path: Path) -> None:
    """`--version` was read as "exclude -version": "query has only excluded terms"."""
    records = {
        "cli.md": [IndexedRecord(title="CLI", body="Run cde-orchestrator --version to print it.")],
        "other.md": [IndexedRecord(title="Other", body="Nothing about flags here.")],
    }
    index = indexed(tmp_path, records)
    assert [h.source for h in index.search("--version")] == ["cli.md"]
    assert [h.source for h in index.search("run")] == ["cli.md"]
    assert index.search("run -version") == []  # one dash still excludes
    assert compile_query("--dry-run")[0] == '"dry run"'
    with pytest.raises(InvalidInputError, match='quote a flag to find it: "-v"'):
        index.search("-v")


def test_fts_syntax_in_words_is_neutralised() -> None:
    strict, _ = compile_query('title:foo AND (bar) NEAR "x y"*')
    assert "NEAR(" not in strict and "title:" not in strict


def test_unspaced_scripts_are_found_by_any_word_inside_a_run(tmp_path: Path) -> None:
    records = {
        "zh.md": [
            IndexedRecord(title="数据库", heading="全文检索", body="我们使用全文搜索索引来查找文档。SQLite数据库。")
        ],
        "ja.md": [IndexedRecord(title="検索エンジン", body="日本語の文書を全文検索します。", tags=("検索",))],
        "ko.md": [IndexedRecord(title="안내", body="데이터베이스를 검색합니다.")],
        "en.md": [IndexedRecord(title="Search", body="Full-text search of the docs.")],
    }
    index = indexed(tmp_path, records)
    zh = index.search("搜索")
    assert [h.source for h in zh] == ["zh.md"]
    assert (zh[0].title, zh[0].heading) == ("数据库", "全文检索")  # shown as written
    assert zh[0].snippet == "我们使用全文**搜索**索引来查找文档。SQLite…"  # one match, not one per character
    assert [h.source for h in index.search("全文搜索")] == ["zh.md"]  # the characters in that order
    assert index.search("搜全") == [] and index.search('"索引 全文"') == []
    assert [h.source for h in index.search("sqlite数据库")] == ["zh.md"]
    assert [h.source for h in index.search("全文")] == ["zh.md", "ja.md"]  # a heading match ranks first
    assert [h.source for h in index.search("検索", tags=["検索"])] == ["ja.md"]
    assert [h.source for h in index.search("검색")] == ["ko.md"]
    assert [h.source for h in index.search("search -搜索")] == ["en.md"]
    explained = index.search("全文 文書", explain=True)
    assert [(h.source, h.matched) for h in explained] == [("ja.md", {"body": ["文書", "全文"]})]


def test_a_documents_own_marker_and_separator_characters_do_not_disturb_matches(tmp_path: Path) -> None:
    records = {
        "a.md": [IndexedRecord(title="Controls", body="before \x01ctl\x02 after")],
        "b.md": [IndexedRecord(title="Joined", body="foo\u200bbar and 〇〇会社")],
    }
    index = indexed(tmp_path, records)
    assert [h.snippet for h in index.search("ctl")] == ["before **ctl** after"]
    assert [h.snippet for h in index.search("foo")] == ["**foo** bar and 〇〇会社"]  # its zero-width space: a space
    assert [h.source for h in index.search("〇会")] == ["b.md"]


def test_incremental_sync_reloads_only_changed_sources(tmp_path: Path) -> None:
    index, loads = build(tmp_path)
    loads.clear()
    assert index.sync(stamps(), lambda s: DOCS[s]).changed == 0
    current = stamps()
    current["notes.md"] = "2"
    del current["adr/0001.md"]
    rewritten = [IndexedRecord(title="Notes", body="Completely rewritten about gardening.")]

    def load(source: str) -> list[IndexedRecord]:
        loads.append(source)
        return rewritten

    stats = index.sync(current, load)
    assert (stats.updated, stats.removed, stats.unchanged) == (1, 1, 1)
    assert loads == ["notes.md"]
    assert index.search("gardening")[0].source == "notes.md"
    assert index.search("sqlite") == []
    assert index.count() == (2, 3)


def test_unreadable_source_is_skipped_not_fatal(tmp_path: Path) -> None:
    index = FtsIndex(tmp_path / "i.db")

    def load(source: str) -> list[IndexedRecord]:
        if source == "bad.md":
            raise OSError("permission denied")
        return [IndexedRecord(title="Good", body="fine words")]

    stats = index.sync({"bad.md": "1", "good.md": "1"}, load)
    assert stats.added == 2 and stats.records == 1
    assert [h.source for h in index.search("fine")] == ["good.md"]


def test_corrupt_database_is_rebuilt(tmp_path: Path) -> None:
    db = tmp_path / "i.db"
    db.write_bytes(b"this is not a sqlite database" * 100)
    index = FtsIndex(db)
    assert index.sync({"a": "1"}, lambda s: [IndexedRecord(title="A", body="alpha")]).added == 1
    assert index.search("alpha")[0].source == "a"
    index.close()
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_limit_is_bounded(tmp_path: Path) -> None:
    index, _ = build(tmp_path)
    with pytest.raises(InvalidInputError, match="limit"):
        index.search("caching", limit=0)


def test_upsert_and_remove_one_source_without_a_full_sync(tmp_path: Path) -> None:
    index, _ = build(tmp_path)
    index.upsert("new.md", "1", [IndexedRecord(title="Fresh", body="kiwi fruit", attrs={"kind": "x"})])
    assert [h.source for h in index.search("kiwi")] == ["new.md"]
    index.upsert("new.md", "2", [IndexedRecord(title="Fresh", body="mango only")])
    assert index.search("kiwi") == [] and [h.source for h in index.search("mango")] == ["new.md"]
    assert index.count() == (4, 5)
    assert index.remove(["new.md", "never-indexed.md"]) == 1
    assert index.search("mango") == [] and index.count() == (3, 4)
    # A later sync with the stamps it recorded sees nothing to do.
    assert index.sync(stamps(), lambda s: DOCS[s]).changed == 0


def test_browse_lists_by_title_with_filters_and_paging(tmp_path: Path) -> None:
    index, _ = build(tmp_path)
    titles = [h.title for h in index.browse(limit=10)]
    assert titles == ["Notes", "Use SQLite FTS5", "User guide", "User guide"]
    assert [h.source for h in index.browse(attrs={"category": "adr"})] == ["adr/0001.md"]
    assert [h.source for h in index.browse(tags=["search"])] == ["adr/0001.md"]
    assert [h.title for h in index.browse(limit=2, offset=2)] == ["User guide", "User guide"]
    assert all(h.score == 0 and h.snippet == "" for h in index.browse())
    with pytest.raises(InvalidInputError, match="offset"):
        index.browse(offset=-1)


def test_explain_reports_matched_terms_per_column(tmp_path: Path) -> None:
    index, _ = build(tmp_path)
    hit = index.search("caching OR fingerprint", explain=True)[0]
    assert hit.matched == {"heading": ["caching"], "body": ["cache", "fingerprint"]}  # stemmed: cache ~ caching
    assert index.search("caching")[0].matched == {}  # only on request


def test_sync_sees_changes_committed_by_another_connection(tmp_path: Path) -> None:
    first, _ = build(tmp_path)
    assert first.sync(stamps(), lambda s: DOCS[s]).changed == 0  # nothing to do, from its in-memory stamps
    other = FtsIndex(first.db_path)  # another process, say
    assert other.sync({"notes.md": "2"}, lambda s: DOCS[s]).removed == 2
    again = first.sync(stamps(), lambda s: DOCS[s])
    assert (again.added, again.updated, again.unchanged) == (2, 1, 0)
    assert {h.source for h in first.search("caching")} == {"guide.md", "notes.md"}
    other.close()


def test_sync_writes_in_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("adapters.fts_index.SYNC_BATCH", 2)
    index = FtsIndex(tmp_path / "batched.db")
    sources = {f"doc{i}.md": "1" for i in range(5)}

    def load(source: str) -> list[IndexedRecord]:
        return [IndexedRecord(title=source, body=f"shared words and {source.removesuffix('.md')}")]

    stats = index.sync(sources, load)
    assert (stats.added, stats.records) == (5, 5)
    assert len(index.search("shared", limit=10)) == 5
    assert index.sync({"doc4.md": "2"}, load).removed == 4
    assert index.count() == (1, 1)


def test_a_word_every_record_holds_still_scores_above_zero(tmp_path: Path) -> None:
    """BM25 of such a word is ~1e-6: scores keep significant digits, so a match never reads as 0."""
    records = {f"doc{i}.md": [IndexedRecord(title=f"Doc {i}", body=f"common words here, number {i}")] for i in range(6)}
    index = indexed(tmp_path, records)
    hits = index.search("common")
    assert len(hits) == 6 and all(h.score > 0 for h in hits)


def test_the_cache_folder_ignores_itself_in_git_never_through_a_symlink(tmp_path: Path) -> None:
    FtsIndex(tmp_path / "a" / "search.db").search("x")
    assert (tmp_path / "a" / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / ".gitignore").symlink_to(tmp_path / "elsewhere")
    FtsIndex(tmp_path / "b" / "search.db").search("x")
    assert not (tmp_path / "elsewhere").exists()


def test_a_doc_with_thousands_of_matching_sections_is_ranked_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CHANGELOG of thousands of "Fixed ..." sections: the per-doc cap set the first hits aside, and the
    query ran again for 4x more rows each time, up to 8 times (0.5 s a search at 20,000 sections)."""
    changelog = [
        IndexedRecord(title="Changelog", heading=f"1.{k}.0", anchor=f"1{k}0", body=f"Fixed crash {k}")
        for k in range(2000)
    ]
    records = {
        "CHANGELOG.md": changelog,
        **{
            f"doc{i}.md": [
                IndexedRecord(
                    title=f"Doc {i}",
                    body="a long note about many other things, with one fixed bug somewhere among them",
                )
            ]
            for i in range(20)
        },
    }
    index = indexed(tmp_path, records)
    queries: list[str] = []
    real = fts_index._execute

    def counted(conn: Any, sql: str, args: Any) -> list[Any]:
        queries.append(sql)
        return real(conn, sql, args)

    monkeypatch.setattr(fts_index, "_execute", counted)
    hits = index.search("fixed", limit=10, per_source=3)
    assert [h.source for h in hits].count("CHANGELOG.md") == 3 and len(hits) == 10
    assert len(queries) <= 2  # the first page, then the kept hits decorated; the ranking itself streamed once
