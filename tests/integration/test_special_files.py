"""A FIFO, socket or device where the server expects a file is refused at once, never waited on or streamed.

A project is untrusted input (a cloned repository can hold a FIFO at any path): opening a FIFO
for reading blocks until a writer comes, which hung the tool and, holding a lock, every later one.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client

from server.bootstrap import App
from tests.conftest import call_error, call_ok

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")


def fifo(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)


async def answer(client: Client, tool: str, arguments: dict[str, Any]) -> Any:
    return await asyncio.wait_for(client.call_tool(tool, arguments), 10)


async def test_a_fifo_as_the_state_a_workflow_or_a_skill_is_refused_not_waited_on(app: App, project: Path) -> None:
    fifo(project / ".cde/state.json")
    fifo(project / ".cde/workflow.yml")
    fifo(project / ".cde/skills/piped/SKILL.md")
    async with Client(app.server) as client:
        for tool, arguments in (
            ("cde_listFeatures", {}),
            ("cde_selectWorkflow", {"user_prompt": "Add a login page"}),
            ("cde_getSkill", {"name": "piped"}),
        ):
            result = await answer(client, tool, arguments)
            text = result.content[0].text  # type: ignore[union-attr]
            assert result.is_error and text.startswith("corrupt_data: ") and "a FIFO, not a regular file" in text
        found = await answer(client, "cde_findSkills", {"query": "spec"})  # the unreadable skill is left out
        assert not found.is_error
        (project / ".cde/skills/piped/SKILL.md").unlink()
        saved = await call_ok(client, "cde_saveSkill", {"name": "after", "description": "d", "content": "Body."})
    assert saved["name"] == "after"


async def test_a_fifo_as_a_spec_document_or_an_ignore_file(app: App, project: Path) -> None:
    async with Client(app.server) as client:
        started = await call_ok(client, "cde_startFeature", {"user_prompt": "Add a login page"})
        await call_ok(
            client,
            "cde_submitWork",
            {"feature_id": started["feature_id"], "phase_id": "define", "results": {"spec": "The spec."}},
        )
        spec = project / started["spec_dir"] / "spec.md"
        spec.unlink()
        fifo(spec)
        status = await answer(
            client, "cde_getFeatureStatus", {"feature_id": started["feature_id"], "include_prompt": True}
        )
        fifo(project / ".gitignore")
        scanned = await answer(client, "cde_onboardingProject", {})
    text = status.content[0].text  # type: ignore[union-attr]
    assert status.is_error and "a FIFO, not a regular file" in text
    assert not scanned.is_error


async def test_a_device_or_fifo_in_a_generated_tool_package(app: App, project: Path) -> None:
    async with Client(app.server) as client:
        await call_ok(client, "cde_generateToolFilesystem", {})
        package = project / ".cde/servers/cde"
        (package / ".manifest.json").unlink()
        (package / ".manifest.json").symlink_to("/dev/zero")  # read whole, this never ends
        module = next(package.glob("cde_health_check.py"))
        module.unlink()
        fifo(module)
        refused = await call_error(client, "cde_generateToolFilesystem", {})
    assert refused.startswith("conflict: ") and "cde_health_check.py" in refused
