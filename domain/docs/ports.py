"""What the documentation use cases need from the outside world."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from domain.docs.analysis import DocsAnalysis
from domain.docs.model import Category
from domain.docs.search import DocsSearch


class DocsCorpus(Protocol):
    """A project's Markdown docs: analysed (cached by fingerprints) and searchable (kept in sync)."""

    async def analysis(self, root: Path) -> DocsAnalysis: ...

    async def search(self, root: Path, query: str, limit: int, category: Category | None = None) -> DocsSearch:
        """Ranked hits for `query` (only in docs of `category` if given); the index is brought up to date
        with the files first."""
        ...
