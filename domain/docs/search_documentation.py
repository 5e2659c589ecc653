"""SearchDocumentation: ranked full-text hits over the project's docs, index refreshed before answering."""

from __future__ import annotations

from pathlib import Path

from domain.docs.model import Category
from domain.docs.ports import DocsCorpus
from domain.docs.search import DocsSearch
from domain.errors import InvalidInputError

MAX_LIMIT = 50


class SearchDocumentation:
    def __init__(self, corpus: DocsCorpus) -> None:
        self._corpus = corpus

    async def __call__(self, root: Path, query: str, limit: int = 10, category: Category | None = None) -> DocsSearch:
        if not query.strip():
            raise InvalidInputError("query is empty; pass words to search for, e.g. 'install' or '\"quick start\"'")
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInputError(f"limit must be between 1 and {MAX_LIMIT}; got {limit}")
        return await self._corpus.search(root, query, limit, category)
