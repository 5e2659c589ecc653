"""cde_scanDocumentation, cde_analyzeDocumentation, cde_searchDocumentation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from adapters.fts_index import MAX_QUERY_CHARS
from domain.docs.analyze_documentation import DocsReport
from domain.docs.scan_documentation import DetailLevel, DocsScan
from domain.docs.search import DocsSearch
from domain.docs.search_documentation import MAX_LIMIT
from server.tooling import add_tool
from server.tools.params import ProjectPath

if TYPE_CHECKING:
    from server.app import CdeServer
    from server.bootstrap import Container


SEARCH_DOCS_GUIDE = """\
BM25-ranked full-text search over the sections of the project's Markdown docs. `query` takes plain
words (all must match, else any), `"exact phrases"`, `prefix*`, `a OR b` and `-excluded` (a `--flag`
such as `--version` is searched for, not excluded); Chinese, Japanese and Korean match inside longer
runs of characters. `category` keeps one kind of doc: root, agent, skills, specs, adr, docs or other.
Each hit has the path, title, heading, `#anchor` and a snippet with the matches in bold; a doc gives
at most 3 hits. The index (`.cde/cache/docs.db`) is brought up to date before every answer.
"""


def register(server: CdeServer, container: Container) -> None:
    async def cde_scanDocumentation(  # noqa: N802 - MCP tool names are camelCase
        project_path: ProjectPath = ".",
        detail_level: DetailLevel = "summary",
    ) -> DocsScan:
        root = await container.project_root(project_path)
        return await container.onboarding.scan_docs(root, detail_level)

    async def cde_analyzeDocumentation(project_path: ProjectPath = ".") -> DocsReport:  # noqa: N802
        root = await container.project_root(project_path)
        return await container.onboarding.analyze_docs(root)

    async def cde_searchDocumentation(  # noqa: N802
        query: Annotated[
            str, Field(description='words, "phrase", prefix*, a OR b, -excluded', max_length=MAX_QUERY_CHARS)
        ],
        project_path: ProjectPath = ".",
        limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = 10,
        category: Annotated[
            Literal["", "root", "agent", "skills", "specs", "adr", "docs", "other"],  # "" or a docs Category
            Field(description="only docs of this category"),
        ] = "",
    ) -> DocsSearch:
        root = await container.project_root(project_path)
        return await container.onboarding.search_docs(root, query, limit, category or None)

    add_tool(
        server,
        cde_scanDocumentation,
        name="cde_scanDocumentation",
        description=(
            "Markdown docs: title, category, size, issues (no metadata, large, orphan); full adds front matter."
        ),
        read_only=True,
        idempotent=True,
    )
    add_tool(
        server,
        cde_analyzeDocumentation,
        name="cde_analyzeDocumentation",
        description=("Docs quality: broken links/anchors, duplicate titles, missing metadata, orphans; 0-100 score."),
        read_only=True,
        idempotent=True,
    )
    add_tool(
        server,
        cde_searchDocumentation,
        name="cde_searchDocumentation",
        description=("Ranked full-text search of the Markdown docs (kept fresh): path, heading, anchor, snippet."),
        read_only=True,
        idempotent=True,
        guide=SEARCH_DOCS_GUIDE,
    )
