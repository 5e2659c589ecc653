"""cde_searchTools, cde_generateToolFilesystem and the `cde://tools/{name}` documentation resource."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from domain.discovery.describe_tool import DescribeTool
from domain.discovery.model import DetailLevel, GeneratedPackage, ToolSearchResult
from infrastructure import paths
from infrastructure.paths import MAX_PATH_CHARS
from server.tooling import add_tool
from server.tools.params import ProjectPath

if TYPE_CHECKING:
    from server.app import CdeServer
    from server.bootstrap import Container

SEARCH_GUIDE = """\
Search covers every registered tool's name, description and parameter names. Words are
matched after light stemming and camelCase splitting (`saveSkill` = save + skill); tools
matching more of your words rank first, a hit in the name counts most. Everyday words also find
the tools' own ("stop" finds cancel tools, "resume" status ones), for less than the word itself.
A tool named exactly comes first, and its name's words are not searched (`cde_saveSkill` returns
just that tool).
Use `detail_level="full_schema"` with tool names or a narrow query (or `limit`) to fetch the
input/output schemas of just the tools you are about to call.

In the lean profile (`CDE_TOOLS=core`) `tools/list` shows only the core tools. The tools a
`full_schema` search returns join it from then on (named in the result's `listed`), and the
server sends `notifications/tools/list_changed`, so a client that lets the model call only listed
tools can call them next.
"""

GENERATE_GUIDE = """\
Writes a Python package for the code-execution pattern: one module per tool holding an
`async def <tool name>(*, ...)` whose keyword-only parameters mirror the tool's input schema.
Calling it runs the real tool in-process (the server is built from the CDE_* environment on
first use; `use_server()` targets your own). Calls on one event loop share one server run, so a
task started with cde_delegateTask goes on between calls; wrap the work in
`async with session():` to stop the server (and such tasks) cleanly when the block ends.
Results are the tool's structured output as a dict; failures raise `ToolCallError`.

`output_dir` is relative to the project (or absolute inside the project or the CDE home) and
its last part is the package name. Regeneration rewrites only files whose content changed
and deletes the modules it wrote for tools that are gone, unless edited since; your own files
(copies of generated modules too) stay, and a file without the generated header is never
overwritten.
The CLI equivalent is `cde-orchestrator generate-tools [DIR]`.
"""


def register(server: CdeServer, container: Container) -> None:
    async def cde_searchTools(  # noqa: N802 - MCP tool names are camelCase
        ctx: Context[Any, Any],
        query: Annotated[str, Field(description="words; empty lists all", max_length=500)] = "",
        detail_level: DetailLevel = "name_and_description",
        limit: Annotated[int | None, Field(ge=1, le=100)] = None,
    ) -> ToolSearchResult:
        result = await container.discovery.search_tools()(query, detail_level=detail_level, limit=limit)
        if detail_level != "full_schema":
            return result
        # Lean profile: a tool whose schema the agent fetched is one it means to call, and most clients
        # let the model call only what tools/list shows.
        listed = server.reveal(tool.name for tool in result.tools)
        if not listed:
            return result
        await server.announce_tools_changed(ctx)
        return result.model_copy(update={"listed": listed})  # the search's own result may be cached

    async def cde_generateToolFilesystem(  # noqa: N802
        output_dir: Annotated[str, Field(max_length=MAX_PATH_CHARS)] = ".cde/servers/cde",
        project_path: ProjectPath = ".",
    ) -> GeneratedPackage:
        root = await container.project_root(project_path)
        target = await paths.resolve_output_dir(
            root, output_dir, also=(container.settings.home,), managed=container.managed_folders(root)
        )
        return await container.discovery.generate_tool_filesystem()(target)

    add_tool(
        server,
        cde_searchTools,
        name="cde_searchTools",
        description="Find tools by need, ranked over names, descriptions and parameter names.",
        read_only=True,
        idempotent=True,
        core=True,
        guide=SEARCH_GUIDE,
    )
    add_tool(
        server,
        cde_generateToolFilesystem,
        name="cde_generateToolFilesystem",
        description="Write a Python package with one typed async function per tool that calls it (code execution).",
        read_only=False,
        destructive=True,  # rewrites generated modules edited since, deletes those of removed tools
        idempotent=True,
        guide=GENERATE_GUIDE,
    )

    describe = DescribeTool(container.discovery.registry, lambda name: (server.guides or {}).get(name))

    @server.resource(
        "cde://tools/{name}",
        name="tool-docs",
        description="Full documentation of a tool: parameters, result fields, guide.",
        mime_type="text/markdown",
    )
    async def tool_docs(name: str) -> str:
        return await describe(name)
