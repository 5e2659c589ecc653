"""Through the real entry point (the CLI): settings from the environment reach the documentation tools."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.trees import make_tree

pytestmark = pytest.mark.slow


def _call(project: Path, home: Path, tool: str, arguments: dict[str, object]) -> dict[str, object]:
    env = {
        **os.environ,
        "CDE_PROJECT_ROOT": str(project),
        "CDE_HOME": str(home),
        "CDE_ALLOWED_ROOTS": str(project),
        "CDE_DOCS_MAX_BYTES": "4096",
    }
    done = subprocess.run(
        [sys.executable, "-m", "server", "call", tool, json.dumps(arguments)],
        capture_output=True,
        text=True,
        env=env,
        cwd=project.parent,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_search_through_the_cli_respects_settings(tmp_path: Path) -> None:
    project = make_tree(
        tmp_path / "project",
        {
            "README.md": "# Demo\n\nSee [usage](docs/usage.md).\n",
            "docs/usage.md": "# Usage\n\nRun the frobnicator daily.\n\n" + "padding text\n" * 1000 + "tailword\n",
        },
    )
    # "tailword" lies past CDE_DOCS_MAX_BYTES=4096, so only the README's "Demo" can match.
    found = _call(project, tmp_path / "home", "cde_searchDocumentation", {"query": "tailword OR demo"})
    assert [h["path"] for h in found["hits"]] == ["README.md"]  # type: ignore[attr-defined, index]
    assert found["docs"] == 2 and found["reindexed"] == 2
    assert (project / ".cde" / "cache" / "docs.db").is_file()
