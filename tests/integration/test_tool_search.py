from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from mcp.client import Client
from pydantic import BaseModel

from infrastructure.settings import Settings
from server.bootstrap import App, bootstrap
from server.tooling import add_tool
from tests.conftest import call_error, call_ok


async def search(client: Client, query: str, **extra: object) -> list[str]:
    result = await call_ok(client, "cde_searchTools", {"query": query, **extra})
    return [t["name"] for t in result["tools"]]


async def test_every_registered_tool_is_findable_by_its_name(app: App) -> None:
    registered = [t.name for t in await app.server.list_tools()]
    async with Client(app.server) as client:
        for name in registered:
            assert await search(client, name) == [name]  # not every tool that shares "cde" or "project"
        everything = await call_ok(client, "cde_searchTools", {"detail_level": "name_only"})
    assert [t["name"] for t in everything["tools"]] == sorted(registered)
    assert everything["total"] == len(registered)
    assert all(set(t) == {"name"} for t in everything["tools"])


@pytest.mark.parametrize(
    ("query", "best"),
    [
        ("save a skill", "cde_saveSkill"),
        ("find skills by tag", "cde_findSkills"),
        ("generate python package of tools", "cde_generateToolFilesystem"),
        ("server health status", "cde_healthCheck"),
        ("which skill fits my task", "cde_sourceSkill"),
        ("delete skill", "cde_deleteSkill"),
        ("search tools detail level", "cde_searchTools"),
        # Everyday words for what the tools call otherwise: cde_cancelFeature and cde_listAvailableAgents
        # came first for these, and "continue where I left off" found nothing.
        ("resume feature after restart", "cde_getFeatureStatus"),
        ("stop a running agent", "cde_cancelTask"),
        ("kill agent", "cde_cancelTask"),
        ("continue where I left off", "cde_getFeatureStatus"),
        ("remove a skill", "cde_deleteSkill"),
        ("edit a skill", "cde_updateSkill"),
        ("show all features", "cde_listFeatures"),
        ("agent output", "cde_getTaskStatus"),
        # ...but never above a tool using the query's own word: synonyms once put six skill tools ahead
        # of cde_updateSkill (the one with a `note`).
        ("note", "cde_updateSkill"),
    ],
)
async def test_ranking_on_the_real_registry(app: App, query: str, best: str) -> None:
    async with Client(app.server) as client:
        assert (await search(client, query))[0] == best


class Pong(BaseModel):
    pong: bool


async def test_unregistered_tools_never_appear_and_new_ones_do(app: App) -> None:
    async def cde_pingPong() -> Pong:  # noqa: N802
        return Pong(pong=True)

    async with Client(app.server) as client:
        assert "cde_deleteSkill" in await search(client, "delete")
        app.server.remove_tool("cde_deleteSkill")
        assert "cde_deleteSkill" not in await search(client, "delete skill")
        assert "cde_deleteSkill" not in await search(client, "")
        assert await search(client, "ping pong") == []
        add_tool(app.server, cde_pingPong, name="cde_pingPong", description="Answer a ping.", read_only=True)
        assert (await search(client, "ping pong"))[0] == "cde_pingPong"


async def test_detail_levels(app: App) -> None:
    listed = {t.name: t for t in await app.server.list_tools()}
    async with Client(app.server) as client:
        short = await call_ok(client, "cde_searchTools", {"query": "cde_getSkill", "limit": 1})
        full = await call_ok(
            client, "cde_searchTools", {"query": "cde_getSkill", "detail_level": "full_schema", "limit": 1}
        )
        names = await call_ok(client, "cde_searchTools", {"query": "skill", "detail_level": "name_only", "limit": 2})
        bad = await call_error(client, "cde_searchTools", {"detail_level": "everything"})
    assert short["tools"] == [{"name": "cde_getSkill", "description": listed["cde_getSkill"].description}]
    (tool,) = full["tools"]
    assert tool["input_schema"] == listed["cde_getSkill"].input_schema
    assert tool["output_schema"] == listed["cde_getSkill"].output_schema
    assert len(names["tools"]) == 2 and names["total"] >= 6
    assert "detail_level" in bad


async def test_core_profile_lists_core_tools_and_search_finds_the_others(settings: Settings) -> None:
    """The lean profile saves the schemas up front; the other tools stay discoverable and callable."""
    lean = bootstrap(settings.model_copy(update={"tools": "core"}))
    full = {t.name for t in await bootstrap(settings).server.list_tools()}
    listed = {t.name for t in await lean.server.list_tools()}
    assert listed == {
        "cde_healthCheck",
        "cde_searchTools",
        "cde_selectWorkflow",
        "cde_startFeature",
        "cde_submitWork",
        "cde_getFeatureStatus",
        "cde_listFeatures",
    }
    async with Client(lean.server) as client:
        assert (await search(client, "save a skill"))[0] == "cde_saveSkill"
        assert set(await search(client, "")) == full
        full_schema = await call_ok(
            client, "cde_searchTools", {"query": "cde_saveSkill", "detail_level": "full_schema", "limit": 1}
        )
        doc = await client.read_resource("cde://tools/cde_saveSkill")
        saved = await call_ok(client, "cde_saveSkill", {"name": "lean", "description": "d", "content": "c"})
        own_doc = await client.read_resource("cde://tools/cde_searchTools")
        with pytest.raises(Exception, match="not_found"):
            await client.read_resource("cde://tools/cde_noSuchTool")
    assert "name" in full_schema["tools"][0]["input_schema"]["properties"]
    assert doc.contents[0].text.startswith("# cde_saveSkill")  # type: ignore[union-attr]
    assert saved["name"] == "lean"
    assert "# cde_searchTools" in own_doc.contents[0].text  # type: ignore[union-attr]


async def test_tool_docs_resource_carries_parameters_and_guide(app: App, project: Path) -> None:
    async with Client(app.server) as client:
        doc = (await client.read_resource("cde://tools/cde_saveSkill")).contents[0]
        health = (await client.read_resource("cde://tools/cde_healthCheck")).contents[0]
    text = doc.text  # type: ignore[union-attr]
    assert text.startswith("# cde_saveSkill\n")
    assert "- `name`: `str`, required" in text and '- `kind`: `Literal["base", "ephemeral"]`, default `"base"`' in text
    assert "## Guide" in text and "history/vN.md" in text
    assert "- `details`: `bool`, default `false`" in health.text  # type: ignore[union-attr]


async def test_tools_with_parameters_to_explain_have_guides(app: App) -> None:
    """`cde://tools/{name}` had guidance for 8 of 32 tools: none for the workflow ones, whose `workflow_type`,
    `recipe_id`, `phase_id` and `include_prompt` had no description anywhere."""
    wanted = {
        "cde_selectWorkflow": "deterministic classifier",
        "cde_startFeature": "`recipe_id`",
        "cde_submitWork": "`phase_id`: must be the feature's current phase",
        "cde_getFeatureStatus": "`include_prompt=true`",
        "cde_listFeatures": "`active`",
        "cde_cancelFeature": "already closed is refused",
        "cde_delegateTask": "`timeout_s`: 1-86,400 seconds",
        "cde_getTaskStatus": "`tail_lines`",
        "cde_cancelTask": "CDE_JOB_KILL_GRACE",
        "cde_publishOnboarding": "`approve=false` writes nothing",
        "cde_setupProject": "`force=true`",
        "cde_generateSpec": "`overwrite=true`",
        "cde_onboardingProject": "`changed: false`",
        "cde_searchDocumentation": "`-excluded`",
    }
    async with Client(app.server) as client:
        for name, fragment in wanted.items():
            text = (await client.read_resource(f"cde://tools/{name}")).contents[0].text  # type: ignore[union-attr]
            assert "## Guide" in text and fragment in text, name


async def test_lean_profile_lists_the_tools_whose_schemas_a_search_fetched(settings: Settings) -> None:
    """Most clients let the model call only the tools tools/list shows: a tool the agent fetched the schema of
    (it is about to call it) joins the list, and only that one."""
    lean = bootstrap(settings.model_copy(update={"tools": "core"}))

    async def listed_now(client: Client) -> set[str]:
        return {t.name for t in (await client.list_tools()).tools}

    async with Client(lean.server) as client:
        before = await listed_now(client)
        browsed = await call_ok(client, "cde_searchTools", {"query": "save skill"})
        fetched = await call_ok(
            client, "cde_searchTools", {"query": "save skill", "detail_level": "full_schema", "limit": 1}
        )
        after_fetch = await listed_now(client)
        again = await call_ok(client, "cde_searchTools", {"query": "skill", "detail_level": "full_schema"})
        after_again = await listed_now(client)
        core = await call_ok(client, "cde_searchTools", {"query": "cde_startFeature", "detail_level": "full_schema"})
        saved = await client.call_tool(
            "cde_saveSkill", {"name": "retry-policy", "description": "Retry with backoff.", "content": "Use jitter."}
        )
    assert "cde_saveSkill" not in before and "listed" not in browsed  # browsing names lists nothing
    assert fetched["listed"] == ["cde_saveSkill"] and [t["name"] for t in fetched["tools"]] == ["cde_saveSkill"]
    assert after_fetch == before | {"cde_saveSkill"}
    newly = [t["name"] for t in again["tools"] if t["name"] not in after_fetch]
    assert newly and again["listed"] == newly  # only the ones not listed yet
    assert after_again == after_fetch | set(newly)
    assert "listed" not in core  # core tools were listed all along
    assert not saved.is_error
    assert lean.server.tool_count() == len(after_again)


async def test_lean_profile_announces_a_listing_on_listen_streams(settings: Settings) -> None:
    """2026-07-28 clients learn of list changes on their subscriptions/listen stream: one event per listing."""
    lean = bootstrap(settings.model_copy(update={"tools": "core"}))
    async with Client(lean.server) as client, client.listen(tools_list_changed=True) as events:
        assert client.server_capabilities.tools is not None and client.server_capabilities.tools.list_changed
        await call_ok(client, "cde_searchTools", {"query": "save skill"})  # browsing: no event
        await call_ok(client, "cde_searchTools", {"query": "cde_saveSkill", "detail_level": "full_schema"})
        await call_ok(client, "cde_searchTools", {"query": "cde_saveSkill", "detail_level": "full_schema"})  # listed
        with anyio.fail_after(5):
            first = await events.__anext__()
        with anyio.move_on_after(0.3):
            await events.__anext__()
            pytest.fail("a second event for a tool that was already listed")
    assert type(first).__name__ == "ToolsListChanged"


async def test_a_full_schema_search_outside_a_request_lists_without_failing(settings: Settings) -> None:
    """`server.call_tool` with no client request behind it: there is no one to notify, and the search succeeds."""
    lean = bootstrap(settings.model_copy(update={"tools": "core"}))
    result = await lean.server.call_tool("cde_searchTools", {"query": "cde_getSkill", "detail_level": "full_schema"})
    assert not result.is_error and result.structured_content["listed"] == ["cde_getSkill"]
    assert "cde_getSkill" in lean.server.tool_names()


async def test_full_profile_never_reports_listed_tools(app: App) -> None:
    async with Client(app.server) as client:
        result = await call_ok(client, "cde_searchTools", {"query": "save skill", "detail_level": "full_schema"})
    assert result["tools"] and "listed" not in result
