"""Shared fixtures: isolated settings, the real app from bootstrap(), an in-process MCP client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client
from mcp_types import CallToolResult

from infrastructure.settings import Settings
from server.bootstrap import App, bootstrap


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project directory inside the allowed roots."""
    root = tmp_path / "project"
    root.mkdir()
    return root


@pytest.fixture
def settings(tmp_path: Path, project: Path) -> Settings:
    return Settings(
        home=tmp_path / "cde-home",
        allowed_roots=(tmp_path,),
        project_root=project,
        lock_timeout=10.0,
    )


@pytest.fixture
def app(settings: Settings) -> App:
    return bootstrap(settings)


# No `client` fixture: anyio's task groups inside Client must be entered and exited in the
# same task, and pytest-asyncio tears async fixtures down in another. Tests open
# `async with Client(app.server) as client:` themselves.


def tool_text(result: CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if c.type == "text")  # type: ignore[union-attr]


async def call_ok(client: Client, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call a tool that must succeed; return its structured output."""
    result = await client.call_tool(name, arguments or {})
    assert not result.is_error, tool_text(result)
    assert result.structured_content is not None, tool_text(result)
    # The text block mirrors the structured content for clients without structured output.
    assert json.loads(tool_text(result)) == result.structured_content
    return result.structured_content


async def call_error(client: Client, name: str, arguments: dict[str, Any] | None = None) -> str:
    """Call a tool that must fail; return its one-line error message."""
    result = await client.call_tool(name, arguments or {})
    assert result.is_error, f"{name} unexpectedly succeeded: {result.structured_content}"
    message = tool_text(result)
    assert "\n" not in message and "Traceback" not in message, message
    return message
