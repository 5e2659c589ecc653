"""Two server processes (two assistants) submitting to different features of one project at once."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from mcp.client import Client

from tests.conftest import call_ok
from tests.stdio_server import stdio_client

pytestmark = pytest.mark.slow

FEATURES_PER_PROCESS = 3
RESULTS = {
    "define": {"spec": "s"},
    "decompose": {"tasks": "t"},
    "design": {"plan": "p"},
    "implement": {"summary": "i", "files_changed": "f"},
    "test": {"test_report": "r"},
    "review": {"review": "v", "verdict": "approved"},
}


async def drive(client: Client, project: Path, label: str) -> list[str]:
    """Start this process's features, then submit all their phases concurrently, feature by feature."""
    where = {"project_path": str(project)}
    ids = []
    for n in range(FEATURES_PER_PROCESS):
        started = await call_ok(
            client, "cde_startFeature", {"user_prompt": f"Feature {label} {n}", "workflow_type": "standard", **where}
        )
        ids.append(started["feature_id"])

    async def walk(fid: str) -> None:
        for phase, results in RESULTS.items():
            await call_ok(client, "cde_submitWork", {"feature_id": fid, "phase_id": phase, "results": results, **where})

    await asyncio.gather(*(walk(fid) for fid in ids))
    return ids


async def test_no_update_is_lost_between_two_server_processes(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()

    async def one(label: str) -> list[str]:
        async with stdio_client(
            home=tmp_path / "home", project_root=project, allowed_root=tmp_path, cwd=tmp_path
        ) as client:
            return await drive(client, project, label)

    first, second = await asyncio.gather(one("a"), one("b"))
    state = json.loads((project / ".cde/state.json").read_text())
    features = state["features"]
    assert set(features) == set(first) | set(second)
    assert len(features) == 2 * FEATURES_PER_PROCESS
    for feature in features.values():
        assert feature["status"] == "completed", feature["name"]
        assert len(feature["history"]) == len(RESULTS) + 1
        assert set(feature["results"]) == set(RESULTS)
    assert len({f["name"] for f in features.values()}) == len(features)
