"""A feature driven through every phase of `standard` and `quick-fix`, over stdio, by the real server process.

The server's working directory and default project are another folder: every
path must resolve against the project passed as `project_path`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from domain.front_matter import document_body
from tests.conftest import call_error, call_ok
from tests.stdio_server import stdio_client

pytestmark = pytest.mark.slow

RESULTS = {
    "define": {"spec": "# Spec\n\nAC1: `report --json` prints JSON."},
    "decompose": {"tasks": "- [ ] T1 add to_rows\n- [ ] T2 wire --json"},
    "design": {"plan": "# Plan\n\nReuse the table rows."},
    "implement": {"summary": "Added --json.", "files_changed": "src/cli.py\nsrc/report.py"},
    "test": {"test_report": "pytest: 12 passed"},
    "review": {"review": "No blocking findings.", "verdict": "approved"},
}
FILES = {
    "define": "spec.md",
    "decompose": "tasks.md",
    "design": "plan.md",
    "implement": "implementation.md",
    "test": "test-report.md",
    "review": "review.md",
}


@pytest.mark.parametrize(
    ("workflow_type", "phases"),
    [
        ("standard", ["define", "decompose", "design", "implement", "test", "review"]),
        ("quick-fix", ["define", "implement", "test"]),
    ],
)
async def test_feature_goes_through_every_phase(tmp_path: Path, workflow_type: str, phases: list[str]) -> None:
    project = tmp_path / "project"
    elsewhere = tmp_path / "server-cwd"
    project.mkdir()
    elsewhere.mkdir()
    where = {"project_path": str(project)}
    async with stdio_client(
        home=tmp_path / "home", project_root=elsewhere, allowed_root=tmp_path, cwd=elsewhere
    ) as client:
        started = await call_ok(
            client,
            "cde_startFeature",
            {"user_prompt": "Add a --json flag to the report command", "workflow_type": workflow_type, **where},
        )
        fid, name = started["feature_id"], started["name"]
        assert started["phases"] == phases
        assert started["phase"] == phases[0] and started["required_outputs"] == ["spec"]
        step = started
        for index, phase in enumerate(phases):
            assert step["phase"] == phase
            assert set(step["required_outputs"]) == set(RESULTS[phase])
            assert f'phase_id="{phase}"' in step["prompt"]
            if index > 0:  # later prompts carry the spec produced by define
                assert "AC1: `report --json` prints JSON." in step["prompt"]
            step = await call_ok(
                client, "cde_submitWork", {"feature_id": fid[:8], "phase_id": phase, "results": RESULTS[phase], **where}
            )
            assert step["done"] == index + 1 and step["total"] == len(phases)
            assert step["artifacts"] == [f"specs/{name}/{FILES[phase]}"]
        assert step["status"] == "completed" and "phase" not in step and "required_outputs" not in step
        status = await call_ok(client, "cde_getFeatureStatus", {"feature_id": fid, **where})
        refused = await call_error(
            client,
            "cde_submitWork",
            {"feature_id": fid, "phase_id": phases[-1], "results": RESULTS[phases[-1]], **where},
        )
    assert status["status"] == "completed" and status["done"] == len(phases)
    assert not {"phase", "required_outputs", "prompt"} & set(status)  # left out, not empty, once finished
    assert len(status["history"]) == len(phases) + 1
    assert "accepts no more work" in refused
    for phase in phases:
        saved = document_body((project / "specs" / name / FILES[phase]).read_text())
        assert saved.rstrip("\n") == next(iter(RESULTS[phase].values()))
    state = json.loads((project / ".cde/state.json").read_text())
    assert state["features"][fid]["status"] == "completed"
    assert not (elsewhere / "specs").exists() and not (elsewhere / ".cde").exists()
