"""cde_scanDocumentation / cde_analyzeDocumentation / cde_searchDocumentation on fixture trees."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import get_args

import pytest
from mcp.client import Client

from adapters.docs_corpus import FsDocsCorpus
from adapters.project_tree import FsProjectTree
from domain.docs.model import Category
from server.bootstrap import App
from tests.conftest import call_error, call_ok
from tests.trees import edit_in_place, make_tree

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def docs_project(project: Path) -> Path:
    return make_tree(
        project,
        {
            "README.md": "# Shop\n\nRead the [guide](docs/guide.md), the [API](docs/api.md#authentication) "
            "and the [roadmap](docs/nope.md).\n",
            "docs/.gitignore": "ignored/\n",
            "docs/guide.md": "---\ntitle: Guide\ndescription: How to install\ntags: [setup]\n---\n# Guide\n\n"
            "## Installing\n\nInstall with pip inside a virtualenv.\n\nSee [API](api.md#no-such-anchor).\n",
            "docs/api.md": "---\ntitle: API reference\n---\n# API\n\n## Authentication\n\n"
            "Tokens are verified against the fingerprint cache on every request.\n",
            "docs/orphan.md": "# Guide\n\nA duplicate title that nobody links to.\n",
            "docs/bad-meta.md": "---\ntitle: [oops\n---\n# Bad metadata\n",
            "docs/latin1.md": b"# Caf\xe9 notes\n\nWritten in latin-1 by an old editor.\n",
            "docs/binary.md": b"\x00\x01\x02 not text",
            "docs/ignored/secret.md": "# Secret\n",
            "node_modules/pkg/README.md": "# Dependency\n",
        },
    )


async def test_scan_lists_docs_with_findings_at_each_detail_level(app: App, docs_project: Path) -> None:
    async with Client(app.server) as client:
        summary = await call_ok(client, "cde_scanDocumentation")
        names = await call_ok(client, "cde_scanDocumentation", {"detail_level": "name_only"})
        full = await call_ok(client, "cde_scanDocumentation", {"detail_level": "full"})
    expected = [
        "README.md",
        "docs/api.md",
        "docs/bad-meta.md",
        "docs/binary.md",
        "docs/guide.md",
        "docs/latin1.md",
        "docs/orphan.md",
    ]
    assert names["paths"] == expected and "docs" not in names and names["total"] == 7  # empty: left out
    assert [d["path"] for d in summary["docs"]] == expected and "paths" not in summary
    assert summary["categories"] == {"docs": 6, "root": 1}
    by_path = {d["path"]: d for d in summary["docs"]}
    assert by_path["docs/guide.md"] == {
        "path": "docs/guide.md",
        "title": "Guide",
        "category": "docs",
        "size": (docs_project / "docs" / "guide.md").stat().st_size,
        "issues": ["broken_links"],
    }  # no metadata, no notes at this level: left out, not null
    assert by_path["docs/api.md"]["issues"] == ["missing_metadata"]
    assert set(by_path["docs/orphan.md"]["issues"]) == {"missing_metadata", "orphan"}
    assert "invalid_metadata" in by_path["docs/bad-meta.md"]["issues"]
    assert "binary" in by_path["docs/binary.md"]["issues"]
    assert "invalid_utf8" in by_path["docs/latin1.md"]["issues"]
    assert by_path["docs/latin1.md"]["title"] == "Caf\ufffd notes"
    assert summary["findings"]["orphan"] == 4 and summary["findings"]["missing_metadata"] == 4
    full_guide = next(d for d in full["docs"] if d["path"] == "docs/guide.md")
    assert full_guide["metadata"] == {"title": "Guide", "description": "How to install", "tags": ["setup"]}
    full_by_path = {d["path"]: d for d in full["docs"]}
    assert full_by_path["docs/bad-meta.md"]["notes"][0].startswith("invalid YAML at line")
    assert full_by_path["docs/latin1.md"]["notes"] == ["invalid UTF-8 at byte 5; read with replacement characters"]
    assert "notes" not in full_guide and "notes" not in by_path["docs/bad-meta.md"]
    assert all(d.get("issues") != [] for d in summary["docs"] + full["docs"])  # none is sent as an empty list
    sizes = [len(json.dumps(r)) for r in (names, summary, full)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[1] < sizes[2]


async def test_analyze_reports_links_duplicates_metadata_orphans_and_score(app: App, docs_project: Path) -> None:
    async with Client(app.server) as client:
        report = await call_ok(client, "cde_analyzeDocumentation")
    assert report["docs"] == 7 and report["links"] == 4
    assert report["broken_links"] == [
        "README.md:3 docs/nope.md: file not found (missing, or ignored by .gitignore)",
        "docs/guide.md:12 api.md#no-such-anchor: no heading or anchor #no-such-anchor in docs/api.md",
    ]
    assert report["duplicate_titles"] == {"Guide": ["docs/guide.md", "docs/orphan.md"]}
    assert report["missing_metadata"]["docs/api.md"] == ["description"]
    assert "docs/orphan.md" in report["orphans"] and "docs/guide.md" not in report["orphans"]
    assert report["counts"] == {"broken_links": 2, "duplicate_titles": 1, "missing_metadata": 4, "orphans": 4}
    assert 0 <= report["score"] < 100
    assert report["reasons"][0].startswith("-") and any("2 of 4 relative links" in r for r in report["reasons"])


async def test_search_ranks_highlights_and_supports_query_syntax(app: App, docs_project: Path) -> None:
    async with Client(app.server) as client:
        first = await call_ok(client, "cde_searchDocumentation", {"query": "tokens"})
        phrase = await call_ok(client, "cde_searchDocumentation", {"query": '"fingerprint cache"'})
        prefix = await call_ok(client, "cde_searchDocumentation", {"query": "virtualen*"})
        none = await call_ok(client, "cde_searchDocumentation", {"query": '"cache fingerprint"'})
        malformed = await call_error(client, "cde_searchDocumentation", {"query": '"unclosed phrase'})
        negative = await call_error(client, "cde_searchDocumentation", {"query": "-tokens"})
        too_many = await call_error(client, "cde_searchDocumentation", {"query": "x", "limit": 500})
    hit = first["hits"][0]
    assert (hit["path"], hit["title"], hit["heading"], hit["anchor"]) == (
        "docs/api.md",
        "API reference",
        "Authentication",
        "authentication",
    )
    assert "**Tokens**" in hit["snippet"] and hit["score"] > 0
    assert first["docs"] == 7 and first["reindexed"] == 7
    assert [h["path"] for h in phrase["hits"]] == ["docs/api.md"] and phrase["reindexed"] == 0
    assert [(h["path"], h["anchor"]) for h in prefix["hits"]] == [("docs/guide.md", "installing")]
    assert none["hits"] == []
    assert malformed.startswith("invalid_input:") and "double quote" in malformed
    assert negative.startswith("invalid_input:")
    assert too_many.startswith("invalid_input: invalid arguments for cde_searchDocumentation: limit")
    assert (docs_project / ".cde" / "cache" / "docs.db").is_file()
    assert (docs_project / ".cde" / "cache" / ".gitignore").read_text().strip().endswith("*")


async def test_search_keeps_to_one_category_when_asked(app: App, project: Path, change_watch: str) -> None:
    """With many features, the records the workflow writes under specs/ fill the hits; a category keeps to
    the project's own docs (or to those records)."""
    make_tree(
        project,
        {
            "docs/retry.md": "# Retries\n\nThe client retries twice.\n",
            **{f"specs/f{i}/spec.md": f"# Spec {i}\n\nRetries retries retries, variant {i}.\n" for i in range(5)},
        },
    )
    async with Client(app.server) as client:
        everything = await call_ok(client, "cde_searchDocumentation", {"query": "retries", "limit": 3})
        docs = await call_ok(client, "cde_searchDocumentation", {"query": "retries", "category": "docs"})
        specs = await call_ok(client, "cde_searchDocumentation", {"query": "retries", "category": "specs"})
        wrong = await call_error(client, "cde_searchDocumentation", {"query": "retries", "category": "blog"})
    assert {h["path"].split("/")[0] for h in everything["hits"]} == {"docs", "specs"}
    assert [h["path"] for h in docs["hits"]] == ["docs/retry.md"]
    assert len(specs["hits"]) == 5 and all(h["path"].startswith("specs/") for h in specs["hits"])
    assert wrong.startswith("invalid_input: invalid arguments for cde_searchDocumentation: category")
    # The tool offers exactly the categories cde_scanDocumentation gives.
    schema = next(t for t in await app.server.list_tools() if t.name == "cde_searchDocumentation").input_schema
    assert schema["properties"]["category"]["enum"] == ["", *get_args(Category)]


@pytest.fixture(params=["watched", "unwatched"])
def change_watch(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with kernel change notifications and again without (every doc is stat-ed instead)."""
    if request.param == "unwatched":
        monkeypatch.setattr("adapters.change_watch._AVAILABLE", False)
    return str(request.param)


async def test_search_reindexes_only_changed_added_and_removed_docs(
    app: App, docs_project: Path, change_watch: str
) -> None:
    async with Client(app.server) as client:
        await call_ok(client, "cde_searchDocumentation", {"query": "guide"})
        edit_in_place(docs_project / "docs" / "api.md", "# API\n\n## Sessions\n\nSessions expire after an hour.\n")
        edited = await call_ok(client, "cde_searchDocumentation", {"query": "sessions"})
        gone = await call_ok(client, "cde_searchDocumentation", {"query": "tokens"})
        make_tree(docs_project, {"docs/howto/deploy.md": "# Deploy\n\nUse the blue-green strategy.\n"})
        (docs_project / "docs" / "orphan.md").unlink()
        added = await call_ok(client, "cde_searchDocumentation", {"query": "blue green"})
        removed = await call_ok(client, "cde_searchDocumentation", {"query": "duplicate"})
    assert edited["reindexed"] == 1 and edited["hits"][0]["anchor"] == "sessions"
    assert gone["hits"] == [] and gone["reindexed"] == 0
    assert added["reindexed"] == 2 and added["hits"][0]["path"] == "docs/howto/deploy.md"
    assert removed["hits"] == [] and removed["docs"] == 7


async def test_search_sees_replaced_docs_and_ignore_rules(app: App, docs_project: Path, change_watch: str) -> None:
    async with Client(app.server) as client:
        await call_ok(client, "cde_searchDocumentation", {"query": "guide"})
        replacement = docs_project / "docs" / "new-api.tmp"
        replacement.write_text("# API\n\n## Webhooks\n\nWebhooks are signed.\n", encoding="utf-8")
        replacement.replace(docs_project / "docs" / "api.md")  # how editors and atomic writers save
        replaced = await call_ok(client, "cde_searchDocumentation", {"query": "webhooks"})
        (docs_project / "docs" / ".gitignore").write_text("ignored/\nguide.md\n", encoding="utf-8")
        hidden = await call_ok(client, "cde_searchDocumentation", {"query": "virtualenv"})
        (docs_project / "docs" / "ignored" / "secret.md").write_text("# Secret\n\nzebra\n", encoding="utf-8")
        still_ignored = await call_ok(client, "cde_searchDocumentation", {"query": "zebra"})
    assert replaced["hits"][0]["path"] == "docs/api.md" and replaced["reindexed"] == 1
    assert hidden["hits"] == []
    assert still_ignored["hits"] == []


async def test_a_doc_replaced_by_a_link_or_a_fifo_leaves_the_count(
    app: App, docs_project: Path, tmp_path: Path, change_watch: str
) -> None:
    """The walk skips links and FIFOs; a doc replaced by one was emptied in the index but still counted."""
    outside = tmp_path / "outside.md"
    outside.write_text("# Out\n\nquokka\n", encoding="utf-8")
    async with Client(app.server) as client:
        before = await call_ok(client, "cde_searchDocumentation", {"query": "guide"})
        (docs_project / "docs" / "api.md").unlink()
        (docs_project / "docs" / "api.md").symlink_to(outside)
        linked = await call_ok(client, "cde_searchDocumentation", {"query": "quokka"})
        scanned = await call_ok(client, "cde_scanDocumentation", {})
    assert linked["hits"] == [] and linked["docs"] == before["docs"] - 1 == scanned["total"]


def test_tree_watch_reports_file_and_directory_changes(tmp_path: Path) -> None:
    from adapters.change_watch import TreeWatch

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("a", encoding="utf-8")
    watch = TreeWatch(tmp_path)
    try:
        assert watch.active and watch.watch_dirs(["", "docs"])
        assert watch.changes().paths == set()
        (tmp_path / "docs" / "a.md").write_text("changed", encoding="utf-8")
        (tmp_path / "b.md").write_text("new", encoding="utf-8")
        changes = watch.changes()
        assert changes.paths == {"docs/a.md", "b.md"} and not changes.dirs_changed and not changes.rescan
        (tmp_path / "docs" / "sub").mkdir()
        assert watch.changes().dirs_changed
        assert watch.changes() == type(changes)()  # drained
    finally:
        watch.close()
    assert watch.changes().rescan  # a closed watch can only say "check everything"


async def test_file_names_that_are_not_utf8_do_not_break_any_tool(app: App, project: Path) -> None:
    make_tree(project, {"README.md": "# Shop\n\nzebra crossing\n", "docs/ok.md": "# Ok\n\nzebra\n"})
    Path(os.fsdecode(os.fsencode(project) + b"/docs/caf\xe9.md")).write_text("# Bad name\n\nzebra\n")
    Path(os.fsdecode(os.fsencode(project) + b"/top\xff.py")).write_text("print(1)\n")
    async with Client(app.server) as client:
        scan = await call_ok(client, "cde_scanDocumentation", {"detail_level": "full"})
        report = await call_ok(client, "cde_analyzeDocumentation")
        found = await call_ok(client, "cde_searchDocumentation", {"query": "zebra"})
        onboarding = await call_ok(client, "cde_onboardingProject")
        setup = await call_ok(client, "cde_setupProject")
    assert [d["path"] for d in scan["docs"]] == ["README.md", "docs/ok.md"] and report["docs"] == 2
    assert sorted(h["path"] for h in found["hits"]) == ["README.md", "docs/ok.md"]
    assert "2 file or folder names not valid UTF-8, left out" in onboarding["notes"]
    assert "AGENTS.md" in setup["written"]


async def test_an_index_that_cannot_be_written_is_a_clear_error(app: App, project: Path) -> None:
    make_tree(project, {"README.md": "# Shop\n\nzebra\n", ".cde/cache": "a file where the cache folder goes"})
    async with Client(app.server) as client:
        message = await call_error(client, "cde_searchDocumentation", {"query": "zebra"})
        (project / ".cde" / "cache").unlink()
        found = await call_ok(client, "cde_searchDocumentation", {"query": "zebra"})
    assert message.startswith("unavailable: the search index") and "delete .cde/cache/" in message
    assert [h["path"] for h in found["hits"]] == ["README.md"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only folders")
async def test_a_read_only_project_gets_a_permission_error_from_search(app: App, project: Path) -> None:
    make_tree(project, {"README.md": "# Shop\n\nzebra\n"})
    project.chmod(0o555)
    try:
        async with Client(app.server) as client:
            message = await call_error(client, "cde_searchDocumentation", {"query": "zebra"})
    finally:
        project.chmod(0o755)
    assert message.startswith("permission_denied: cannot write the search index")


async def test_a_50_mb_markdown_file_is_read_partially_and_flagged(app: App, project: Path) -> None:
    huge = project / "docs" / "huge.md"
    huge.parent.mkdir()
    with huge.open("w", encoding="utf-8") as out:
        out.write("# Huge\n\nthe beginning mentions aardvark\n\n")
        out.write("filler words in a very long log of text\n" * 1_250_000)
        out.write("the end mentions zebra\n")
    assert huge.stat().st_size > 50_000_000
    async with Client(app.server) as client:
        scan = await call_ok(client, "cde_scanDocumentation")
        start = await call_ok(client, "cde_searchDocumentation", {"query": "aardvark"})
        end = await call_ok(client, "cde_searchDocumentation", {"query": "zebra"})
    assert scan["docs"][0]["path"] == "docs/huge.md" and "large" in scan["docs"][0]["issues"]
    assert [h["path"] for h in start["hits"]] == ["docs/huge.md"]
    assert end["hits"] == []  # beyond CDE_DOCS_MAX_BYTES: never read


async def test_a_new_docs_size_limit_reindexes_the_docs_it_reads_differently(project: Path) -> None:
    """The index kept what the previous CDE_DOCS_MAX_BYTES had read: raising it found nothing new until
    .cde/cache was deleted, and lowering it kept text the limit now leaves out."""
    make_tree(project, {"docs/long.md": "# Long\n\n" + "filler text\n" * 300 + "the end mentions zebra\n"})
    make_tree(project, {"docs/short.md": "# Short\n\nzebra crossing\n"})
    for limit in (1024, 1 << 20, 1024):
        corpus = FsDocsCorpus(FsProjectTree(max_files=1000), max_bytes=limit)  # a server started with it
        try:
            found = sorted(hit.path for hit in (await corpus.search(project, "zebra", 10)).hits)
        finally:
            await corpus.close()
        assert found == (["docs/short.md"] if limit == 1024 else ["docs/long.md", "docs/short.md"]), limit


async def test_thousands_of_docs_give_bounded_listings(app: App, project: Path) -> None:
    make_tree(project, {f"docs/area{i % 20}/page{i:04d}.md": f"# Page {i}\n\nText {i}.\n" for i in range(1000)})
    make_tree(project, {f"docs/same/o{i:03d}.md": "# Overview\n\nText.\n" for i in range(120)})
    async with Client(app.server) as client:
        names = await call_ok(client, "cde_scanDocumentation", {"detail_level": "name_only"})
        summary = await call_ok(client, "cde_scanDocumentation")
        full = await call_ok(client, "cde_scanDocumentation", {"detail_level": "full"})
        report = await call_ok(client, "cde_analyzeDocumentation")
    assert names["total"] == 1120 and len(names["paths"]) == 1120
    assert len(json.dumps(names)) < 45_000
    assert summary["total"] == 1120 and len(summary["docs"]) == 300
    assert len(full["docs"]) == 100
    # 120 docs sharing one title: listed up to 50, then counted (it listed every path: 41 KB at 5,000 docs).
    overview = report["duplicate_titles"]["Overview"]
    assert len(overview) == 51 and overview[-1] == "... and 70 more" and overview[0] == "docs/same/o000.md"


async def test_docs_of_this_repository(tmp_path: Path) -> None:
    """Analysis and search on a copy of this repository's docs (the index is written, so not in place)."""
    copy = tmp_path / "repo"
    shutil.copytree(REPO, copy, ignore=shutil.ignore_patterns(".venv", ".git", ".cde", "*_cache", "__pycache__"))
    corpus = FsDocsCorpus(FsProjectTree(max_files=50_000), max_bytes=1 << 21)
    analysis = await corpus.analysis(copy)
    assert "README.md" in [d.path for d in analysis.docs]
    found = await corpus.search(copy, "cde-orchestrator", 5)
    assert found.hits and found.hits[0].path == "README.md"
    await corpus.close()


def test_a_doc_that_vanished_or_cannot_be_read_is_flagged_not_fatal(tmp_path: Path) -> None:
    from adapters.docs_corpus import parse_doc

    doc = parse_doc(str(tmp_path), "docs/gone.md", 1024, [])
    assert (doc.problem, doc.title, doc.title_from) == ("unreadable", "gone", "file")


def test_tags_are_indexed_whether_a_list_or_a_comma_separated_string(tmp_path: Path) -> None:
    from adapters.docs_corpus import load_records

    make_tree(tmp_path, {"a.md": "---\ntags: [setup, pip]\n---\n# A\n", "b.md": "---\ntags: setup, pip\n---\n# B\n"})
    assert [list(r.tags) for r in load_records(str(tmp_path), "a.md", 4096)] == [["setup", "pip"]]
    assert [list(r.tags) for r in load_records(str(tmp_path), "b.md", 4096)] == [["setup", "pip"]]


async def test_a_snippet_marks_only_the_matches_in_bold_not_the_docs_own_bold(app: App, project: Path) -> None:
    make_tree(
        project,
        {"docs/setup.md": "# Setup\n\n**Claude Code** connects with `claude mcp add`; call it as f(**kwargs).\n"},
    )
    async with Client(app.server) as client:
        found = await call_ok(client, "cde_searchDocumentation", {"query": "claude code"})
    # The doc's own `**Claude Code**` is gone (it read `**Claude** **Code****`); `**kwargs` is no emphasis: kept.
    assert (
        found["hits"][0]["snippet"] == "**Claude** **Code** connects with `**claude** mcp add`; call it as f(**kwargs)."
    )


async def test_one_doc_cannot_fill_every_hit_and_a_long_section_is_one_hit(app: App, project: Path) -> None:
    """A doc's title is part of each of its sections: "Deployment Handbook" filled all ten hits with
    sections about coffee, hiding the one section about deployment. And a 1 MB section was one
    record, whose snippet took seconds to build; it is indexed in parts and still found once."""
    topics = "".join(f"## Topic {n}\n\nUnrelated paragraph about coffee.\n\n" for n in range(12))
    long_section = "# Reference\n\n## Words\n\n" + "lorem ipsum dolor sit amet\n" * 40_000  # ~1 MB
    make_tree(
        project,
        {
            "docs/handbook.md": "# Deployment Handbook\n\n" + topics,
            "docs/ops.md": "# Operations\n\n## Deployment\n\nThe deployment runs nightly; a deployment is logged.\n",
            "docs/reference.md": long_section,
        },
    )
    async with Client(app.server) as client:
        found = await call_ok(client, "cde_searchDocumentation", {"query": "deployment", "limit": 10})
        words = await call_ok(client, "cde_searchDocumentation", {"query": "lorem", "limit": 10})
        few = await call_ok(client, "cde_searchDocumentation", {"query": "lorem", "limit": 2})  # under the cap
    paths = [h["path"] for h in found["hits"]]
    assert paths.count("docs/handbook.md") <= 3 and "docs/ops.md" in paths
    assert [(h["path"], h["anchor"]) for h in words["hits"]] == [("docs/reference.md", "words")]
    assert [(h["path"], h["anchor"]) for h in few["hits"]] == [("docs/reference.md", "words")]
    assert "**lorem**" in words["hits"][0]["snippet"]


def test_a_long_body_is_cut_into_parts_at_line_ends() -> None:
    from adapters.docs_corpus import PART_CHARS, parts

    body = "".join(f"line {n} of a long section\n" for n in range(5000))
    pieces = parts(body)
    assert "".join(pieces) == body and len(pieces) > 1
    assert all(len(p) <= PART_CHARS and p.endswith("\n") for p in pieces)
    one_line = "x" * (3 * PART_CHARS)  # no line end, no space: cut hard
    assert "".join(parts(one_line)) == one_line and max(map(len, parts(one_line))) <= PART_CHARS
    assert parts("short") == ["short"]


async def test_links_to_symlinks_and_build_folders_are_not_broken_and_a_bad_anchor_is_one_problem(
    app: App, project: Path
) -> None:
    make_tree(
        project,
        {
            "README.md": "# Root\n\n[c](CONTRIBUTING.md) [d](build/docker/Dockerfile) [g](docs/guide.md#instalation)\n"
            "[v](vendor/lib/x.md) [gone](dist/nothing.md) [cache](tmp-cache/x.md)\n",
            "docs/contributing.md": "---\ntitle: C\ndescription: c\n---\n# C\n",
            "docs/guide.md": "---\ntitle: Guide\ndescription: g\n---\n# Guide\n\n## Installation\n",
            "build/docker/Dockerfile": "FROM scratch\n",
            "vendor/lib/x.md": "# X\n",
            "tmp-cache/x.md": "# ignored\n",
            ".gitignore": "tmp-cache/\n",
        },
    )
    (project / "CONTRIBUTING.md").symlink_to("docs/contributing.md")
    async with Client(app.server) as client:
        report = await call_ok(client, "cde_analyzeDocumentation")
    assert report["broken_links"] == [
        "README.md:3 docs/guide.md#instalation: no heading or anchor #instalation in docs/guide.md",
        "README.md:4 dist/nothing.md: file not found (missing, or ignored by .gitignore)",  # no dist/ at all
        "README.md:4 tmp-cache/x.md: file not found (missing, or ignored by .gitignore)",
    ]
    assert "docs/guide.md" not in report["orphans"]  # linked, if to a misspelt anchor
