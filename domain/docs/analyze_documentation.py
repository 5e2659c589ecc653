"""AnalyzeDocumentation: broken links and anchors, duplicate titles, missing metadata, orphans, a score."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from domain.docs.ports import DocsCorpus

LISTED = 50  # per finding; `counts` always has the totals


# No docstring or field descriptions: they would be sent in every tools/list (the README has them).
class DocsReport(BaseModel):
    docs: int
    links: int  # relative links checked
    score: int  # 0-100
    reasons: list[str]  # each penalty behind the score
    counts: dict[str, int]  # totals; the lists below stop at LISTED
    broken_links: list[str]  # "doc:line target: reason"
    duplicate_titles: dict[str, list[str]]
    missing_metadata: dict[str, list[str]]  # doc → expected front matter keys it lacks
    orphans: list[str]


class AnalyzeDocumentation:
    def __init__(self, corpus: DocsCorpus) -> None:
        self._corpus = corpus

    async def __call__(self, root: Path) -> DocsReport:
        analysis = await self._corpus.analysis(root)
        return DocsReport(
            docs=len(analysis.docs),
            links=analysis.links,
            score=analysis.score,
            reasons=list(analysis.reasons),
            counts={
                "broken_links": len(analysis.broken_links),
                "duplicate_titles": len(analysis.duplicate_titles),
                "missing_metadata": len(analysis.missing_metadata),
                "orphans": len(analysis.orphans),
            },
            broken_links=[f"{b.doc}:{b.line} {b.target}: {b.reason}" for b in analysis.broken_links[:LISTED]],
            duplicate_titles={t: _first(p) for t, p in list(analysis.duplicate_titles.items())[:LISTED]},
            missing_metadata={p: list(k) for p, k in list(analysis.missing_metadata.items())[:LISTED]},
            orphans=list(analysis.orphans[:LISTED]),
        )


def _first(paths: tuple[str, ...] | list[str]) -> list[str]:
    """The docs sharing a title, at most LISTED of them (5,000 docs titled "Overview" were 41 KB of answer)."""
    shown = list(paths[:LISTED])
    return shown if len(paths) <= LISTED else [*shown, f"... and {len(paths) - LISTED} more"]
