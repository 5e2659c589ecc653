"""Two server processes (two assistants) submitting to one project at once: different features, then the same."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from mcp.client import Client

from domain.front_matter import document_body
from tests.conftest import call_ok, tool_text
from tests.stdio_server import stdio_client

pytestmark = pytest.mark.slow

FEATURES_PER_PROCESS = 3
RACE_ROUNDS = 5
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


async def race(client: Client, project: Path, me: int, barrier: asyncio.Barrier, ids: list[str]) -> list[bool]:
    """Both processes submit `define` to the same features at the same moment; True where this one was accepted."""
    where = {"project_path": str(project)}
    accepted = []
    for n in range(RACE_ROUNDS):
        if me == 0:
            started = await call_ok(
                client, "cde_startFeature", {"user_prompt": f"Race {n}", "workflow_type": "quick-fix", **where}
            )
            ids.append(started["feature_id"])
        await barrier.wait()
        outcome = await client.call_tool(
            "cde_submitWork", {"feature_id": ids[n], "phase_id": "define", "results": {"spec": f"by {me}"}, **where}
        )
        if outcome.is_error:
            assert tool_text(outcome).startswith("invalid_transition: phase define is already done"), tool_text(outcome)
        accepted.append(not outcome.is_error)
    return accepted


async def test_no_update_is_lost_between_two_server_processes(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    barrier = asyncio.Barrier(2)
    race_ids: list[str] = []

    async def one(me: int) -> tuple[list[str], list[bool]]:
        async with stdio_client(
            home=tmp_path / "home", project_root=project, allowed_root=tmp_path, cwd=tmp_path
        ) as client:
            ids = await drive(client, project, "ab"[me])
            await barrier.wait()
            return ids, await race(client, project, me, barrier, race_ids)

    (first, won_a), (second, won_b) = await asyncio.gather(one(0), one(1))
    state = json.loads((project / ".cde/state.json").read_text())
    features = {fid: f for fid, f in state["features"].items() if fid not in race_ids}
    assert set(features) == set(first) | set(second)
    assert len(features) == 2 * FEATURES_PER_PROCESS
    for feature in features.values():
        assert feature["status"] == "completed", feature["name"]
        assert len(feature["history"]) == len(RESULTS) + 1
        assert set(feature["results"]) == set(RESULTS)
    assert len({f["name"] for f in state["features"].values()}) == len(state["features"])
    # The same feature: exactly one submission accepted each time, and the spec file holds its results.
    for fid, a, b in zip(race_ids, won_a, won_b, strict=True):
        assert a != b, (fid, a, b)
        feature = state["features"][fid]
        assert feature["status"] == "implement" and len(feature["history"]) == 2
        spec = project / "specs" / feature["name"] / "spec.md"
        assert document_body(spec.read_text()) == f"by {0 if a else 1}\n"
