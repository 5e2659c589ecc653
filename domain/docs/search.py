"""Search results over a project's docs."""

from __future__ import annotations

from pydantic import BaseModel


# No docstrings or field descriptions: they would be sent in every tools/list (the README has them).
class DocSearchHit(BaseModel):
    path: str
    title: str
    heading: str
    anchor: str
    snippet: str  # matches in **bold**
    score: float


class DocsSearch(BaseModel):
    hits: list[DocSearchHit]
    docs: int  # docs in the index
    reindexed: int  # docs re-indexed before answering because they changed
