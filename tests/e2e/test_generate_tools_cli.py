from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import asyncio, json, sys
sys.path.insert(0, ".cde/servers")
import cde

async def main():
    saved = await cde.cde_saveSkill(name="from-script", description="Saved by a script", content="lemon")
    found = await cde.cde_findSkills(query="lemon")
    try:
        await cde.cde_deleteSkill(name="../x", scope="project")
    except cde.ToolCallError as exc:
        error = str(exc)
    print(json.dumps({"saved": saved, "found": [s["name"] for s in found["skills"]], "error": error}))

asyncio.run(main())
"""


@pytest.mark.slow
def test_cli_generates_a_package_a_script_can_use(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    env = {
        **os.environ,
        "CDE_HOME": str(tmp_path / "home"),
        "CDE_ALLOWED_ROOTS": str(tmp_path),
        "CDE_LOG_LEVEL": "ERROR",
    }
    env.pop("CDE_PROJECT_ROOT", None)
    command = [sys.executable, "-m", "server", "generate-tools"]
    first = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert first.returncode == 0, first.stderr
    assert "written" in first.stdout and (project / ".cde/servers/cde/cde_save_skill.py").is_file()

    run = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=project, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["saved"]["path"] == ".cde/skills/from-script/SKILL.md"
    assert result["found"] == ["from-script"]
    assert result["error"].startswith("invalid_input:")
    assert (project / ".cde/skills/from-script/SKILL.md").is_file()
