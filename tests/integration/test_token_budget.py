"""What every conversation pays for our tools: the `tools/list` JSON, whole and per tool.

These limits are re-checked whenever tools are added: a new tool that does not fit
must get shorter descriptions or a leaner schema, or move guidance to its
`cde://tools/{name}` page (see `add_tool(guide=...)`).
"""

from __future__ import annotations

import json

from mcp.client import Client
from mcp_types import CallToolResult, TextContent

from infrastructure.settings import Settings
from server.app import compact_text
from server.bootstrap import App, bootstrap
from server.introspection import estimate_tokens, tools_list_json

TOTAL_BYTES = 24 * 1024
TOTAL_TOKENS = 6_000
CORE_BYTES = 8 * 1024
CORE_TOKENS = 2_000
PER_TOOL_BYTES = 1_000
# Tools allowed over PER_TOOL_BYTES, with why. Keep this list short and the numbers tight.
ALLOWANCES = {
    "cde_saveSkill": 1_200,  # nine parameters: the SKILL.md fields plus scope, kind and TTL
}


async def sizes(app: App) -> dict[str, int]:
    return {
        t.name: len(t.model_dump_json(by_alias=True, exclude_none=True).encode("utf-8"))
        for t in await app.server.list_tools()
    }


async def test_full_tool_list_fits_the_budget(app: App) -> None:
    listing = await tools_list_json(app.server)
    assert len(listing.encode("utf-8")) <= TOTAL_BYTES, f"tools/list is {len(listing)} bytes"
    assert estimate_tokens(listing) <= TOTAL_TOKENS


async def test_every_tool_is_lean(app: App) -> None:
    over = {name: size for name, size in (await sizes(app)).items() if size > ALLOWANCES.get(name, PER_TOOL_BYTES)}
    assert over == {}, f"over budget (bytes): {over}; shorten descriptions or move guidance to a guide"


async def test_allowances_are_still_needed(app: App) -> None:
    measured = await sizes(app)
    stale = [name for name in ALLOWANCES if name in measured and measured[name] <= PER_TOOL_BYTES]
    assert stale == [], f"{stale} now fit {PER_TOOL_BYTES} bytes: drop them from ALLOWANCES"


async def test_core_profile_is_far_smaller(app: App, settings: Settings) -> None:
    lean = bootstrap(settings.model_copy(update={"tools": "core"}))
    core = await tools_list_json(lean.server)
    full = await tools_list_json(app.server)
    names = {t.name for t in await lean.server.list_tools()}
    assert {"cde_searchTools", "cde_healthCheck"} <= names
    assert not {"cde_saveSkill", "cde_generateToolFilesystem"} & names
    assert len(core.encode("utf-8")) <= CORE_BYTES and estimate_tokens(core) <= CORE_TOKENS
    assert len(core) * 2 <= len(full)


async def test_results_carry_their_text_copy_as_compact_json(app: App) -> None:
    """Clients without structured output read the text block: indentation would cost ~20-30% more tokens."""
    async with Client(app.server) as client:
        for _ in range(3):
            await client.call_tool("cde_startFeature", {"user_prompt": "Add a login page"})
        result = await client.call_tool("cde_listFeatures", {})
    text = result.content[0].text  # type: ignore[union-attr]
    assert not result.is_error and json.loads(text) == result.structured_content
    assert "\n" not in text and ": " not in text and text.startswith('{"features":[{')


def test_the_compact_text_is_valid_json_for_any_float() -> None:
    data = {"nan": float("nan"), "inf": float("inf"), "text": "café", "big": 10**30}
    result = compact_text(CallToolResult(content=[TextContent(type="text", text="")], structured_content=data))
    assert isinstance(result, CallToolResult)
    assert json.loads(result.content[0].text) == {"nan": None, "inf": None, "text": "café", "big": 10**30}  # type: ignore[union-attr]
