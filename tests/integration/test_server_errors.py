"""Tool errors are one actionable line; crashes are logged, not leaked; the server keeps serving."""

from __future__ import annotations

import json
import logging
from typing import Annotated

import pytest
from mcp.client import Client
from pydantic import BaseModel, Field, model_validator

from domain.errors import NotFoundError
from server.app import unencodable
from server.bootstrap import App
from server.introspection import tools_list_json
from server.tooling import add_tool
from tests.conftest import call_error, call_ok


class Echo(BaseModel):
    title: str
    count: int


def add_test_tools(app: App) -> None:
    async def t_missing(feature_id: str) -> Echo:
        raise NotFoundError(f"feature {feature_id} does not exist; list features with cde_listFeatures")

    async def t_crash() -> Echo:
        raise KeyError("secret internal detail\nsecond line")

    async def t_echo(
        title: Annotated[str, Field(description="a property literally named title", max_length=10)],
        count: Annotated[int, Field(ge=1, le=5)] = 1,
    ) -> Echo:
        return Echo(title=title, count=count)

    for fn in (t_missing, t_crash, t_echo):
        add_tool(app.server, fn, name=fn.__name__, description="test tool", read_only=True)


async def test_domain_error_becomes_one_line_tool_error(app: App) -> None:
    add_test_tools(app)
    async with Client(app.server) as client:
        message = await call_error(client, "t_missing", {"feature_id": "abc"})
    assert message == "not_found: feature abc does not exist; list features with cde_listFeatures"


async def test_unexpected_exception_is_logged_and_summarised(app: App, caplog: pytest.LogCaptureFixture) -> None:
    add_test_tools(app)
    with caplog.at_level(logging.ERROR):
        async with Client(app.server) as client:
            message = await call_error(client, "t_crash")
            assert "secret" not in message
            assert message.startswith("internal error in t_crash (KeyError)")
            # The server keeps serving after a crash.
            assert (await call_ok(client, "t_echo", {"title": "ok"}))["title"] == "ok"
    crash_logs = [r for r in caplog.records if "t_crash crashed" in r.getMessage()]
    assert crash_logs and crash_logs[0].exc_info is not None


async def test_invalid_arguments_are_summarised_on_one_line(app: App) -> None:
    add_test_tools(app)
    async with Client(app.server) as client:
        message = await call_error(client, "t_echo", {"title": "x" * 20, "count": 9})
        assert message.startswith("invalid_input: invalid arguments for t_echo: ")
        assert "title: String should have at most 10 characters" in message
        assert "count: Input should be less than or equal to 5" in message
        missing = await call_error(client, "t_echo", {})
        assert "title: Field required" in missing
        unknown = await call_error(client, "no_such_tool")
        assert unknown == "not_found: no tool named 'no_such_tool'; find one with cde_searchTools"
        misspelled = await call_error(client, "t_echo", {"title": "x", "cuont": 2})
        assert misspelled == "invalid_input: unknown argument(s) for t_echo: cuont; valid: title, count"


async def test_null_for_an_optional_argument_means_its_default(app: App) -> None:
    """Callers send `null` for "not given": cde_startFeature refused `workflow_type: null` ("Input should be
    a valid string") where the documented meaning of leaving it out is to auto-select."""
    add_test_tools(app)
    async with Client(app.server) as client:
        assert await call_ok(client, "t_echo", {"title": "x", "count": None}) == {"title": "x", "count": 1}
        assert "title: Input should be a valid string" in await call_error(client, "t_echo", {"title": None})
        started = await call_ok(
            client,
            "cde_startFeature",
            {"user_prompt": "Fix the typo in the footer", "workflow_type": None, "recipe_id": None},
        )
        assert started["workflow_type"] == "quick-fix"
        listed = await call_ok(client, "cde_listFeatures", {"status": None})
        assert [f["feature_id"] for f in listed["features"]] == [started["feature_id"]]
        assert (await call_ok(client, "cde_searchTools", {"query": None}))["tools"]


async def test_text_that_is_not_unicode_is_refused_on_one_line(app: App) -> None:
    add_test_tools(app)
    async with Client(app.server) as client:
        message = await call_error(client, "t_echo", {"title": "bad \ud800"})
    assert message == (
        "invalid_input: arguments.title of t_echo holds a lone UTF-16 surrogate, which is not text; send valid Unicode"
    )


async def test_tools_list_is_compact_but_keeps_real_properties(app: App) -> None:
    add_test_tools(app)
    listing = await tools_list_json(app.server)
    tools = {t.name: t for t in await app.server.list_tools()}
    schema = tools["t_echo"].input_schema
    assert "title" in schema["properties"]  # a property named "title" survives
    assert "title" not in schema and "title" not in schema["properties"]["count"]
    assert '"title":"T_echoArguments"' not in listing
    output = tools["t_echo"].output_schema
    assert output is not None and "title" in output["properties"] and "title" not in output


async def test_tool_annotations_are_set(app: App) -> None:
    tools = {t.name: t for t in await app.server.list_tools()}
    health = tools["cde_healthCheck"].annotations
    assert health is not None and health.read_only_hint is True
    # Hints the spec ignores for read-only tools are not sent.
    assert health.idempotent_hint is None and health.destructive_hint is None
    start = tools["cde_startFeature"].annotations
    assert start is not None and start.read_only_hint is None and start.destructive_hint is False
    cancel = tools["cde_cancelFeature"].annotations
    assert cancel is not None and cancel.destructive_hint is True
    generate = tools["cde_generateToolFilesystem"].annotations  # it rewrites and deletes modules it generated
    assert generate is not None and generate.destructive_hint is True and generate.idempotent_hint is True
    delegate = tools["cde_delegateTask"].annotations
    assert delegate is not None and delegate.open_world_hint is True
    for name, tool in tools.items():
        assert tool.annotations is not None, name
        assert tool.annotations.read_only_hint or tool.annotations.destructive_hint is not None, name


def test_unencodable_names_where_the_bad_text_is() -> None:
    assert unencodable({"documents": {"a.md": "ok", "b c.md": "\ud800"}}) == "arguments.documents['b c.md']"
    assert unencodable({"documents": {"x\ud800": "ok"}}) == "a key of arguments.documents"
    assert unencodable({"tags": ["ok", "\udfff"], "n": 3}) == "arguments.tags[1]"
    assert unencodable({"title": "déjà vu ✓"}) is None


class Child(Echo):
    extra: str = "kept"


class Checked(BaseModel):
    status: str

    @model_validator(mode="after")
    def known(self) -> Checked:
        if self.status not in ("ok", "degraded"):
            raise ValueError(f"unknown status {self.status}")
        return self


class Unserializable(BaseModel):
    model_config = {"arbitrary_types_allowed": True}
    value: object


def add_conversion_tools(app: App) -> None:
    async def t_exact() -> Echo:
        return Echo(title="a\nb", count=2)

    async def t_subclass() -> Echo:
        return Child(title="x", count=1)

    async def t_listing() -> list[Echo]:
        return [Echo(title="x", count=1)]

    async def t_bad_dump() -> Unserializable:
        return Unserializable(value=object())

    async def t_checked() -> Checked:
        checked = Checked(status="ok")
        checked.status = "bogus"  # no validate_assignment: only the result's validation catches it
        return checked

    for fn in (t_exact, t_subclass, t_listing, t_bad_dump, t_checked):
        add_tool(app.server, fn, name=fn.__name__, description="test tool", read_only=True)


async def test_results_convert_like_the_sdk_with_a_compact_text_copy(app: App) -> None:
    """The fast path for a tool returning its own model gives what the SDK's conversion gives."""
    add_conversion_tools(app)
    async with Client(app.server) as client:
        for name, expected in (
            ("t_exact", {"title": "a\nb", "count": 2}),
            ("t_subclass", {"title": "x", "count": 1, "extra": "kept"}),  # a subclass keeps its own fields
            ("t_listing", {"result": [{"title": "x", "count": 1}]}),
        ):
            result = await client.call_tool(name, {})
            assert not result.is_error and result.structured_content == expected, name
            assert len(result.content) == 1
            text = result.content[0].text  # type: ignore[union-attr]
            assert json.loads(text) == expected and "\n" not in text and ": " not in text, name
            sdk = app.server._tool_manager.get_tool(name).fn_metadata.convert_result(  # the SDK's own conversion
                await app.server._tool_manager.get_tool(name).fn()
            )
            assert sdk.structured_content == expected


async def test_a_result_that_does_not_serialize_is_a_crash_not_a_traceback(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    add_conversion_tools(app)
    with caplog.at_level(logging.ERROR):
        async with Client(app.server) as client:
            message = await call_error(client, "t_bad_dump")
            assert message.startswith("internal error in t_bad_dump (")
            # A result its own model's validators refuse is caught as the SDK would catch it.
            assert (await call_error(client, "t_checked")).startswith("internal error in t_checked (ValidationError)")
            assert (await call_ok(client, "t_exact"))["count"] == 2
    assert any("t_bad_dump crashed" in r.getMessage() for r in caplog.records)
