"""Cross-document findings: broken links and anchors, orphans, duplicate titles, metadata, the score."""

from __future__ import annotations

from domain.docs.analysis import analyze_docs, resolve_link
from domain.docs.model import DocLink, DocSet, ParsedDoc, category_of


def doc(
    path: str,
    *links: str,
    title: str | None = None,
    metadata: dict[str, str] | None = None,
    size: int = 100,
    **extra: object,
) -> ParsedDoc:
    parsed: list[DocLink] = []
    for i, target in enumerate(links, start=1):
        path_part, _, anchor = target.partition("#")
        parsed.append((i, target, path_part, anchor))
    return ParsedDoc(
        path=path,
        size=size,
        title=title or path,
        title_from="heading" if title else "file",
        metadata=metadata,
        anchors=("install", "usage"),
        links=tuple(parsed),
        **extra,  # type: ignore[arg-type]
    )


GOOD_META = {"title": "T", "description": "D"}


def corpus(*docs: ParsedDoc, files: tuple[str, ...] = (), dirs: tuple[str, ...] = ("", "docs")) -> DocSet:
    return DocSet(docs=docs, files=frozenset({d.path for d in docs} | set(files)), dirs=frozenset(dirs))


def test_resolve_link() -> None:
    assert resolve_link("docs/a.md", "b.md") == "docs/b.md"
    assert resolve_link("docs/a.md", "../README.md") == "README.md"
    assert resolve_link("docs/a.md", "/src/x.py") == "src/x.py"
    assert resolve_link("docs/a.md", "./") == "docs"
    assert resolve_link("docs/a.md", "../../etc/passwd") is None


def test_broken_files_anchors_and_escapes_are_reported_with_lines() -> None:
    result = analyze_docs(
        corpus(
            doc(
                "README.md",
                "docs/guide.md#install",
                "docs/guide.md#nope",
                "docs/missing.md",
                "#usage",
                "#gone",
                "../outside.md",
                "docs/",
                "src/app.py#L10",
                title="Project",
            ),
            doc("docs/guide.md", "../README.md", title="Guide", metadata=GOOD_META),
            files=("src/app.py",),
        )
    )
    assert [(b.doc, b.line, b.reason) for b in result.broken_links] == [
        ("README.md", 2, "no heading or anchor #nope in docs/guide.md"),
        ("README.md", 3, "file not found (missing, or ignored by .gitignore)"),
        ("README.md", 5, "no heading or anchor #gone in README.md"),
        ("README.md", 6, "points outside the project"),
    ]
    assert result.links == 9
    assert result.issues["README.md"] == ("broken_links",)
    assert result.orphans == ()


def test_anchor_checks_skip_truncated_docs() -> None:
    big = doc("docs/big.md", title="Big", metadata=GOOD_META, truncated=True, size=60_000_000)
    result = analyze_docs(corpus(doc("README.md", "docs/big.md#far-below", title="R"), big))
    assert result.broken_links == ()
    assert result.issues["docs/big.md"] == ("large",)


def test_orphans_duplicates_and_missing_metadata() -> None:
    result = analyze_docs(
        corpus(
            doc("README.md", "docs/linked.md", title="Project"),
            doc("docs/linked.md", title="Setup", metadata=GOOD_META),
            doc("docs/orphan.md", "orphan.md", title="setup", metadata={"title": "only"}),  # self-links don't count
            doc("docs/README.md", title="Docs index"),
            doc("specs/x/spec.md", title="Spec", metadata=GOOD_META),
            doc("docs/bad.md", title="Bad", metadata_error="invalid YAML at line 2", problem="invalid_utf8"),
        )
    )
    assert result.orphans == ("docs/orphan.md", "docs/bad.md")
    assert result.duplicate_titles == {"Setup": ("docs/linked.md", "docs/orphan.md")}
    assert result.missing_metadata == {
        "docs/orphan.md": ("description",),
        "docs/README.md": ("title", "description"),
        "docs/bad.md": ("title", "description"),
    }
    assert set(result.issues["docs/bad.md"]) == {"invalid_utf8", "invalid_metadata", "missing_metadata", "orphan"}
    assert result.categories == {"docs": 4, "root": 1, "specs": 1}
    assert 0 < result.score < 100
    assert any("not linked from any other doc" in r for r in result.reasons)
    assert result.reasons[0].startswith("-")


def test_score_of_clean_and_empty_docs() -> None:
    clean = analyze_docs(
        corpus(doc("README.md", "docs/a.md", title="P"), doc("docs/a.md", title="A", metadata=GOOD_META))
    )
    assert (clean.score, clean.reasons) == (100, ("no problems found",))
    empty = analyze_docs(corpus())
    assert empty.score == 0 and "no Markdown documentation" in empty.reasons[0]


def test_categories() -> None:
    assert category_of("AGENTS.md") == "agent"
    assert category_of(".github/copilot-instructions.md") == "agent"
    assert category_of("skills/pdf/SKILL.md") == "skills"
    assert category_of("docs/adr/0001-use-sqlite.md") == "adr"
    assert category_of("docs/guide.md") == "docs"
    assert category_of("packages/ui/README.md") == "other"
    assert category_of("CHANGELOG.md") == "root"
