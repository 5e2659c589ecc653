"""ScanDocumentation: every Markdown doc with its title, metadata, category, size and findings."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Literal

from domain.compact import CompactModel, omitted, omitted_if_empty
from domain.docs.ports import DocsCorpus

DetailLevel = Literal["name_only", "summary", "full"]
# How many docs each detail level lists; counts always cover every doc.
LISTED = {"name_only": 2000, "summary": 300, "full": 100}


# Output models carry no docstrings or field descriptions: those are sent in every tools/list. Empty and
# null fields are left out of the answer (a doc without issues is most docs: 30 bytes each, for nothing).
class DocEntry(CompactModel):
    path: str
    title: str
    category: str
    size: int
    issues: list[str] = omitted_if_empty(default_factory=list)
    metadata: dict[str, Any] | None = omitted()  # front matter, with detail_level=full
    notes: list[str] | None = omitted()  # with detail_level=full: why front matter or text could not be read


class DocsScan(CompactModel):
    total: int  # every doc; `paths`/`docs` list at most LISTED[detail_level]
    categories: dict[str, int]
    findings: dict[str, int] = omitted_if_empty(default_factory=dict)  # issue code → number of docs with it
    paths: list[str] = omitted_if_empty(default_factory=list)  # name_only
    docs: list[DocEntry] = omitted_if_empty(default_factory=list)  # summary, full


class ScanDocumentation:
    def __init__(self, corpus: DocsCorpus) -> None:
        self._corpus = corpus

    async def __call__(self, root: Path, detail_level: DetailLevel = "summary") -> DocsScan:
        analysis = await self._corpus.analysis(root)
        limit = LISTED[detail_level]
        shown = analysis.docs[:limit]
        findings = Counter(code for codes in analysis.issues.values() for code in codes)
        report = DocsScan(
            total=len(analysis.docs),
            categories=dict(analysis.categories),
            findings=dict(sorted(findings.items())),
            paths=[d.path for d in shown] if detail_level == "name_only" else [],
            docs=[],
        )
        if detail_level != "name_only":
            full = detail_level == "full"
            report.docs = [
                DocEntry(
                    path=d.path,
                    title=d.title,
                    category=d.category,
                    size=d.size,
                    issues=list(analysis.issues.get(d.path, ())),
                    metadata=dict(d.metadata) if full and d.metadata is not None else None,
                    notes=([n for n in (d.metadata_error, d.problem_detail) if n] or None) if full else None,
                )
                for d in shown
            ]
        return report
