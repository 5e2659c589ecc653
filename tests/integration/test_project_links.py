"""A project whose server-written folders lead outside it through a symlink is refused, never written through."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client

from server.bootstrap import App
from tests.conftest import call_error, call_ok

CALLS: list[tuple[str, dict[str, Any]]] = [
    ("cde_onboardingProject", {}),
    ("cde_startFeature", {"user_prompt": "Add a login page"}),
    ("cde_saveSkill", {"name": "linked-skill", "description": "How to link", "content": "Body."}),
    ("cde_searchDocumentation", {"query": "guide"}),
    ("cde_findSkills", {"query": "x"}),
]


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("linked", [".cde", ".cde/skills", ".cde/cache"])
async def test_a_written_folder_linked_outside_the_project_refuses_every_call(
    app: App, project: Path, tmp_path: Path, linked: str
) -> None:
    (project / "docs").mkdir()
    (project / "docs" / "guide.md").write_text("# Guide\n\nHow to start.\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (project / linked).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(outside, project / linked)
    async with Client(app.server) as client:
        for name, arguments in CALLS:
            message = await call_error(client, name, arguments)
            assert message.startswith(f"permission_denied: {project / linked} leads outside the project"), message
            assert "replace the link with a real folder" in message
    assert _tree(outside) == []  # nothing was written through the link


async def test_a_written_folder_linked_inside_the_project_is_used(app: App, project: Path) -> None:
    (project / "meta" / "cde").mkdir(parents=True)
    os.symlink(project / "meta" / "cde", project / ".cde")
    async with Client(app.server) as client:
        await call_ok(client, "cde_startFeature", {"user_prompt": "Add a login page"})
    assert (project / "meta" / "cde" / "state.json").is_file()


async def test_a_symlink_in_place_of_a_search_index_is_removed_not_written_through(
    app: App, project: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.db"
    other.write_bytes(b"another program's data")
    (project / ".cde" / "cache").mkdir(parents=True)
    os.symlink(other, project / ".cde" / "cache" / "skills.db")
    os.symlink(tmp_path / "dangling-wal", project / ".cde" / "cache" / "docs.db-wal")
    (project / "docs").mkdir()
    (project / "docs" / "guide.md").write_text("# Guide\n\nHow to start.\n")
    async with Client(app.server) as client:
        await call_ok(client, "cde_findSkills", {"query": "x"})
        found = await call_ok(client, "cde_searchDocumentation", {"query": "guide"})
    assert found["hits"]
    assert other.read_bytes() == b"another program's data" and not (tmp_path / "dangling-wal").exists()
    assert not (project / ".cde" / "cache" / "skills.db").is_symlink()
