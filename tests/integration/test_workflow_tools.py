"""The workflow and recipe tools through the in-process MCP client, on a real project directory."""

from __future__ import annotations

import asyncio
import errno
import json
import os
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client
from mcp.server.mcpserver.prompts.base import Prompt
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS

import adapters.fs_state_repository as state_module
from adapters.fs_state_repository import FsStateRepository, load_state_sync
from domain.front_matter import document_body
from infrastructure import files
from infrastructure.settings import Settings
from server.bootstrap import App, bootstrap
from tests.conftest import call_error, call_ok, tool_text

SPEC = {"spec": "# Spec\n\nAC1: works."}


def body_of(document: Path) -> str:
    """A saved document's text after the front matter the server adds."""
    return document_body(document.read_text())


async def test_select_workflow_returns_an_existing_recipe_and_the_plan(app: App) -> None:
    async with Client(app.server) as client:
        selection = await call_ok(client, "cde_selectWorkflow", {"user_prompt": "Fix the typo in the footer"})
        recipes = await call_ok(client, "cde_listRecipes")
    assert selection["workflow_type"] == "quick-fix"
    assert selection["complexity"] == "trivial"
    assert selection["phases"] == ["define", "implement", "test"]
    assert selection["skipped"] == ["decompose", "design", "review"]
    assert selection["recipe_id"] in {r["id"] for r in recipes["recipes"]}
    assert selection["reasoning"].startswith("quick-fix: cues 'typo'")


async def test_start_creates_the_spec_folder_and_returns_the_first_prompt(app: App, project: Path) -> None:
    async with Client(app.server) as client:
        started = await call_ok(client, "cde_startFeature", {"user_prompt": "Add a --json flag to the report command"})
    assert started["workflow_type"] == "standard"
    assert started["phase"] == "define" and started["required_outputs"] == ["spec"]
    assert (project / started["spec_dir"]).is_dir()
    assert started["spec_dir"] == f"specs/{started['name']}"
    assert "Add a --json flag to the report command" in started["prompt"]
    assert (project / ".cde/state.json").is_file()


async def test_gate_refusals_are_one_line_tool_errors(app: App, project: Path) -> None:
    async with Client(app.server) as client:
        started = await call_ok(
            client, "cde_startFeature", {"user_prompt": "Fix crash on save", "workflow_type": "quick-fix"}
        )
        fid = started["feature_id"]
        wrong = await call_error(client, "cde_submitWork", {"feature_id": fid, "phase_id": "test", "results": {}})
        skipped = await call_error(client, "cde_submitWork", {"feature_id": fid, "phase_id": "design", "results": {}})
        missing = await call_error(client, "cde_submitWork", {"feature_id": fid, "phase_id": "define", "results": {}})
        await call_ok(client, "cde_submitWork", {"feature_id": fid, "phase_id": "define", "results": SPEC})
        regress = await call_error(client, "cde_submitWork", {"feature_id": fid, "phase_id": "define", "results": SPEC})
        too_big = await call_error(
            client,
            "cde_submitWork",
            {"feature_id": fid, "phase_id": "implement", "results": {"summary": "x" * 200_001}},
        )
    assert wrong == "invalid_transition: phases cannot be skipped: the current phase is define; submit it before test"
    assert skipped.startswith("invalid_transition: phase design is skipped by workflow type quick-fix")
    assert missing.startswith("invalid_transition: results for phase define miss required output(s): spec")
    assert "features never go back; the current phase is implement" in regress
    assert too_big.startswith("invalid_input: invalid arguments for cde_submitWork: results.summary")
    assert not (project / f"specs/{started['name']}/implementation.md").exists()


async def test_concurrent_submissions_of_one_phase_keep_the_accepted_results(app: App, project: Path) -> None:
    async with Client(app.server) as client:
        started = await call_ok(client, "cde_startFeature", {"user_prompt": "Export invoices"})
        outcomes = await asyncio.gather(
            *(
                client.call_tool(
                    "cde_submitWork",
                    {"feature_id": started["feature_id"], "phase_id": "define", "results": {"spec": f"spec {n}"}},
                )
                for n in range(4)
            )
        )
    accepted = [n for n, outcome in enumerate(outcomes) if not outcome.is_error]
    assert len(accepted) == 1
    assert all("phase define is already done" in tool_text(o) for o in outcomes if o.is_error)
    assert body_of(project / started["spec_dir"] / "spec.md") == f"spec {accepted[0]}\n"


async def test_prefix_status_list_and_cancel(app: App, project: Path) -> None:
    async with Client(app.server) as client:
        a = await call_ok(client, "cde_startFeature", {"user_prompt": "Export invoices"})
        b = await call_ok(client, "cde_startFeature", {"user_prompt": "Import invoices"})
        await call_ok(
            client, "cde_submitWork", {"feature_id": a["feature_id"][:6], "phase_id": "define", "results": SPEC}
        )
        status = await call_ok(client, "cde_getFeatureStatus", {"feature_id": a["name"], "include_prompt": True})
        closed = await call_ok(client, "cde_cancelFeature", {"feature_id": b["feature_id"], "reason": "not needed"})
        active = await call_ok(client, "cde_listFeatures", {"status": "active"})
        everything = await call_ok(client, "cde_listFeatures")
        after = await call_error(
            client, "cde_submitWork", {"feature_id": b["feature_id"], "phase_id": "define", "results": SPEC}
        )
        unknown = await call_error(client, "cde_getFeatureStatus", {"feature_id": "zzzzzz"})
    assert (status["status"], status["phase"], status["done"], status["total"]) == ("decompose", "decompose", 1, 6)
    assert status["artifacts"] == [f"specs/{a['name']}/spec.md"]
    assert "# Spec\n\nAC1: works." in status["prompt"] and len(status["history"]) == 2
    assert closed["status"] == "cancelled"
    assert [f["feature_id"] for f in active["features"]] == [a["feature_id"]]
    assert everything["total"] == 2
    assert after.startswith("invalid_transition: feature import-invoices is cancelled and accepts no more work")
    assert unknown.startswith("not_found: no feature 'zzzzzz'")
    # The tools read the process-wide state snapshot; none of them changed it behind the file's back.
    shared = await FsStateRepository(project).load()
    assert shared.model_dump() == load_state_sync(project / ".cde/state.json").model_dump()


async def test_corrupt_state_is_reported_and_preserved(app: App, project: Path) -> None:
    state = project / ".cde/state.json"
    state.parent.mkdir()
    state.write_bytes(b'{"schema_version": 1, "features": {oops')
    async with Client(app.server) as client:
        listing = await call_error(client, "cde_listFeatures")
        start = await call_error(client, "cde_startFeature", {"user_prompt": "Add a thing"})
    assert listing.startswith(f"corrupt_data: {state} is unreadable (invalid JSON at line 1")
    assert start.startswith(f"corrupt_data: {state} is unreadable")
    assert state.read_bytes() == b'{"schema_version": 1, "features": {oops'
    assert not (project / "specs").exists()


async def test_a_start_whose_commit_is_refused_leaves_no_spec_folder(
    app: App, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with Client(app.server) as client:
        await call_ok(client, "cde_startFeature", {"user_prompt": "Add a thing"})
        state = (project / ".cde/state.json").read_bytes()
        monkeypatch.setattr(state_module, "MAX_STATE_BYTES", len(state) + 100)  # the next feature will not fit
        refused = await call_error(client, "cde_startFeature", {"user_prompt": "Add another thing"})
    assert refused.startswith("limit_exceeded: this change would make") and "keep results short" in refused
    assert sorted(os.listdir(project / "specs")) == ["add-a-thing"]  # not add-another-thing, left empty
    assert (project / ".cde/state.json").read_bytes() == state


async def test_a_submission_whose_commit_is_refused_leaves_its_documents_as_they_were(
    app: App, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documents are written before the state commits: a refused commit left spec.md holding the
    refused text, though documents only ever hold accepted results."""
    async with Client(app.server) as client:
        started = await call_ok(client, "cde_startFeature", {"user_prompt": "Add a thing"})
        where = {"feature_id": started["feature_id"], "phase_id": "define"}
        state = (project / ".cde/state.json").read_bytes()
        monkeypatch.setattr(state_module, "MAX_STATE_BYTES", len(state) + 50)  # the transition will not fit
        too_big = await call_error(client, "cde_submitWork", {**where, "results": {"spec": "Spec."}})
        spec = project / started["spec_dir"] / "spec.md"
        absent = spec.exists()
        spec.write_text("A draft of my own.\n")  # a document there before: put back as it was
        again = await call_error(client, "cde_submitWork", {**where, "results": {"spec": "New."}})
        kept = spec.read_text()
        monkeypatch.setattr(state_module, "MAX_STATE_BYTES", files.DEFAULT_MAX_BYTES)
        accepted = await call_ok(client, "cde_submitWork", {**where, "results": {"spec": "Accepted."}})
    assert too_big.startswith("limit_exceeded: ") and again.startswith("limit_exceeded: ")
    assert not absent and kept == "A draft of my own.\n"
    assert accepted["phase"] == "decompose" and body_of(spec) == "Accepted.\n"


async def test_a_state_write_that_fails_puts_the_documents_back_and_one_that_landed_keeps_them(
    app: App, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk or read-only .cde/ failed the state write after the documents were written: spec.md kept
    the refused text (the user's own draft lost) while the feature stayed in `define`."""
    real = files._durable_temp_sync
    failure: list[str] = []

    def durable_temp(path: Path, payload: bytes, mode: int) -> str:
        if path.name == "state.json" and failure == ["before"]:  # the new state never takes the file's place
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, payload, mode)

    real_fsync_dir = files.fsync_dir

    def fsync_dir(directory: Path) -> None:
        if failure == ["after"] and directory.name == ".cde":  # the new state is in place, not yet durable
            raise OSError(errno.EIO, "Input/output error", str(directory))
        real_fsync_dir(directory)

    monkeypatch.setattr(files, "_durable_temp_sync", durable_temp)
    monkeypatch.setattr(files, "fsync_dir", fsync_dir)
    async with Client(app.server) as client:
        started = await call_ok(client, "cde_startFeature", {"user_prompt": "Add a thing"})
        where = {"feature_id": started["feature_id"], "phase_id": "define"}
        spec = project / started["spec_dir"] / "spec.md"
        spec.write_text("A draft of my own.\n")
        failure.append("before")
        full = await call_error(client, "cde_submitWork", {**where, "results": {"spec": "Refused."}})
        kept = spec.read_text()
        failure[0] = "after"
        landed = await call_error(client, "cde_submitWork", {**where, "results": {"spec": "Recorded."}})
        failure.clear()
        status = await call_ok(client, "cde_getFeatureStatus", {"feature_id": started["feature_id"]})
    assert full.startswith("limit_exceeded: no space left for") and kept == "A draft of my own.\n"
    # The state took its place before the failure: it records the document, which keeps its text.
    assert "Input/output error" in landed and status["phase"] == "decompose"
    assert body_of(spec) == "Recorded.\n"


async def test_a_refused_commit_never_copies_a_linked_documents_outside_text_into_the_project(
    app: App, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "outside-secret.txt"
    secret.write_text("not for the project\n")
    async with Client(app.server) as client:
        started = await call_ok(client, "cde_startFeature", {"user_prompt": "Add a thing"})
        spec = project / started["spec_dir"] / "spec.md"
        spec.symlink_to(secret)
        state = (project / ".cde/state.json").read_bytes()
        monkeypatch.setattr(state_module, "MAX_STATE_BYTES", len(state) + 50)
        refused = await call_error(
            client,
            "cde_submitWork",
            {"feature_id": started["feature_id"], "phase_id": "define", "results": {"spec": "S."}},
        )
    assert refused.startswith("limit_exceeded: ")
    assert not spec.exists() or "not for the project" not in spec.read_text()
    assert secret.read_text() == "not for the project\n"


async def test_a_spec_folder_that_cannot_be_created_records_no_feature(app: App, project: Path) -> None:
    (project / "specs").write_text("a file where the specs folder should be\n")
    async with Client(app.server) as client:
        refused = await call_error(client, "cde_startFeature", {"user_prompt": "Add a thing"})
        listed = await call_ok(client, "cde_listFeatures")
        (project / "specs").unlink()
        started = await call_ok(client, "cde_startFeature", {"user_prompt": "Add a thing"})
    assert refused.startswith("invalid_input: ") and "specs" in refused
    assert listed["total"] == 0
    assert started["name"] == "add-a-thing" and (project / "specs/add-a-thing").is_dir()


async def test_any_entry_under_specs_takes_its_name(app: App, project: Path) -> None:
    (project / "specs").mkdir()
    (project / "specs/add-a-thing").write_text("not a folder, but the name is taken\n")
    (project / "specs/add-a-thing-2").mkdir()
    async with Client(app.server) as client:
        started = await call_ok(client, "cde_startFeature", {"user_prompt": "Add a thing"})
    assert started["name"] == "add-a-thing-3" and (project / "specs/add-a-thing-3").is_dir()


async def test_a_start_killed_before_recording_leaves_its_name_free(app: App, project: Path) -> None:
    """A start killed between making specs/<name>/ and recording the feature left an empty folder, and the
    retry became `<name>-2`. The empty folder of no recorded feature is taken over; a recorded one is not."""
    (project / "specs/add-a-thing").mkdir(parents=True)  # what the killed start left
    async with Client(app.server) as client:
        retried = await call_ok(client, "cde_startFeature", {"user_prompt": "Add a thing"})
        # Another request of the same name (its folder is empty too, but recorded).
        again = await call_ok(client, "cde_startFeature", {"user_prompt": "Add a thing!"})
    assert retried["name"] == "add-a-thing" and again["name"] == "add-a-thing-2"
    assert sorted(os.listdir(project / "specs")) == ["add-a-thing", "add-a-thing-2"]


async def test_invalid_workflow_override_blocks_features_with_a_located_error(app: App, project: Path) -> None:
    (project / ".cde").mkdir()
    (project / ".cde/workflow.yml").write_text("name: x\nversion: 1\ndefault_type: a\nphases: []\ntypes: {}\n")
    async with Client(app.server) as client:
        message = await call_error(client, "cde_startFeature", {"user_prompt": "Add a thing"})
        check = await call_ok(client, "cde_checkRecipes")
    assert message.startswith("corrupt_data: ") and "workflow.yml is unreadable (line 4, phases:" in message
    assert check["workflow"] == ".cde/workflow.yml"
    assert any("line 4, phases" in p for p in check["problems"])


async def test_check_recipes_lists_every_problem_of_the_workflow_the_other_tools_count(app: App, project: Path) -> None:
    (project / ".cde").mkdir()
    (project / ".cde/workflow.yml").write_text(
        "name: x\nversion: 1\ndefault_type: a\nphases:\n  - id: one\n    description: d\n    recipe: define\n"
        "    handler: robot\n    outputs: [{key: Bad}]\ntypes:\n  a: {recipe: define}\n"
    )
    async with Client(app.server) as client:
        message = await call_error(client, "cde_startFeature", {"user_prompt": "Add a thing"})
        check = await call_ok(client, "cde_checkRecipes")
    assert "(line 8, phases[0].handler: " in message and "(and 1 more; cde_checkRecipes lists them)" in message
    workflow = project / ".cde/workflow.yml"
    assert [p.split(": ", 2)[:2] for p in check["problems"]] == [
        [str(workflow), "line 8, phases[0].handler"],
        [str(workflow), "line 9, phases[0].outputs[0].key"],
    ]


async def test_recipe_tools(app: App, project: Path) -> None:
    custom = project / ".cde/recipes/team/standup.poml"
    custom.parent.mkdir(parents=True)
    custom.write_text('<poml><let name="description">Standup</let><task>Standup for {{ user_prompt }} '
                      "on {{ day }} in {{ project_name }}</task></poml>")  # fmt: skip
    broken = project / ".cde/recipes/team/broken.poml"
    broken.write_text("<poml>\n<task>{{ oops oops }}</task></poml>")
    override = project / ".cde/recipes/phases/review.poml"
    override.parent.mkdir(parents=True)
    override.write_text("<poml><task>Review {{ user_prompt }} {{ reviewer }}</task></poml>")
    async with Client(app.server) as client:
        listed = await call_ok(client, "cde_listRecipes")
        used = await call_ok(
            client, "cde_useRecipe", {"recipe_id": "standup", "user_prompt": "team A", "context": {"day": "Monday"}}
        )
        missing = await call_error(client, "cde_useRecipe", {"recipe_id": "standup", "user_prompt": "team A"})
        overriding = await call_error(
            client,
            "cde_useRecipe",
            {"recipe_id": "standup", "user_prompt": "team A", "context": {"day": "M", "project_name": "evil"}},
        )
        unknown_argument = None
        with pytest.raises(MCPError) as prompt_error:
            await client.get_prompt("standup", {"user_prompt": "team A", "day": "M", "bogus": "b"})
        unknown_argument = prompt_error.value
        check = await call_ok(client, "cde_checkRecipes")
    by_id = {r["id"]: r for r in listed["recipes"]}
    assert by_id["standup"]["source"] == "project" and by_id["standup"]["placeholders"] == [
        "user_prompt",
        "day",
        "project_name",
    ]
    assert by_id["review"]["source"] == "override" and by_id["define"]["source"] == "bundled"
    assert "line 2: malformed placeholder" in by_id["broken"]["problem"]
    assert used["prompt"] == f"# Task\n\nStandup for team A on Monday in {project.name}"
    assert "placeholder(s) day that the context does not define" in missing
    # The request and the project's own facts are the server's: context cannot replace them unseen.
    assert overriding.startswith("invalid_input: context key(s) project_name are filled by the server")
    assert unknown_argument.code == INVALID_PARAMS and "unknown argument(s) for prompt standup: bogus" in (
        unknown_argument.message
    )
    assert check["overrides"] == ["review"] and check["added"] == ["broken", "standup"]
    assert "define" in check["bundled"]
    problems = "\n".join(check["problems"])
    assert f"{broken} is unreadable (line 2: malformed placeholder" in problems
    assert "recipe 'review'" in problems and "reviewer (line 1) that phase prompts do not define" in problems


async def test_recipes_are_served_as_prompts(tmp_path: Path, project: Path) -> None:
    custom = project / ".cde/recipes/team/standup.poml"
    custom.parent.mkdir(parents=True)
    custom.write_text(
        '<poml><let name="description">Daily standup</let><task>For {{ user_prompt }} on {{ day }}</task></poml>'
    )
    app = bootstrap(Settings(home=tmp_path / "home", allowed_roots=(tmp_path,), project_root=project))
    async with Client(app.server) as client:
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        rendered = await client.get_prompt("standup", {"user_prompt": "team A"})
        custom.write_text(
            '<poml><let name="description">Daily standup</let><task>Edited {{ user_prompt }}</task></poml>'
        )
        edited = await client.get_prompt("standup", {"user_prompt": "team B"})
        quick = await client.get_prompt("quick-fix", {"user_prompt": "the login crash"})
        # A recipe added or removed while the server runs shows up in the next listing.
        (custom.parent / "retro.poml").write_text("<poml><task>Retro for {{ user_prompt }}</task></poml>")
        custom.unlink()
        later = {p.name for p in (await client.list_prompts(cache_mode="refresh")).prompts}
    assert {"define", "review", "quick-fix", "ai-engineer", "standup"} <= set(prompts)
    assert (prompts["ai-engineer"].title, prompts["quick-fix"].title) == ("AI engineer", "Quick fix")
    standup = prompts["standup"]
    assert standup.description == "Daily standup"
    assert [(a.name, a.required) for a in standup.arguments or []] == [("user_prompt", True), ("day", False)]
    assert rendered.messages[0].content.text == "# Task\n\nFor team A on (not provided)"  # type: ignore[union-attr]
    assert edited.messages[0].content.text == "# Task\n\nEdited team B"  # type: ignore[union-attr]
    assert "the login crash" in quick.messages[0].content.text  # type: ignore[union-attr]
    assert "retro" in later and "standup" not in later and "define" in later


async def test_bad_prompt_requests_are_invalid_params_naming_the_problem(
    tmp_path: Path, project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = project / ".cde/recipes/team/broken.poml"
    broken.parent.mkdir(parents=True)
    broken.write_text("<poml><task>Hello {{ user_prompt }</task></poml>")
    app = bootstrap(Settings(home=tmp_path / "home", allowed_roots=(tmp_path,), project_root=project))
    errors = []
    async with Client(app.server) as client:
        for name, arguments in (("define", {}), ("nosuch", {"user_prompt": "x"}), ("broken", {"user_prompt": "x"})):
            with pytest.raises(MCPError) as info:
                await client.get_prompt(name, arguments)
            errors.append(info.value)
    assert [e.code for e in errors] == [INVALID_PARAMS] * 3
    assert errors[0].message.startswith("invalid_input: prompt define:") and "user_prompt" in errors[0].message
    assert errors[1].message == "not_found: no prompt named 'nosuch'; list them with prompts/list"
    assert errors[2].message.startswith("corrupt_data: recipe broken is not served as a prompt:")
    assert "broken.poml" in errors[2].message and "line 1" in errors[2].message
    assert not [r for r in caplog.records if r.exc_info]  # no traceback in the log


async def test_a_prompt_that_crashes_is_an_internal_error_logged_with_its_cause(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(user_prompt: str) -> str:
        raise RuntimeError("kaput")

    app.server.add_prompt(Prompt.from_function(boom, name="boom"))
    async with Client(app.server) as client:
        with pytest.raises(MCPError) as info:
            await client.get_prompt("boom", {"user_prompt": "x"})
    assert info.value.code == INTERNAL_ERROR
    assert info.value.message == "internal error in prompt boom; details are in the server log on stderr"
    crashes = [r for r in caplog.records if r.getMessage() == "prompt boom crashed"]
    assert crashes and "kaput" in str(crashes[0].exc_info[1])  # type: ignore[index]


async def test_core_profile_keeps_only_the_core_workflow_tools(tmp_path: Path, project: Path) -> None:
    app = bootstrap(Settings(home=tmp_path / "home", allowed_roots=(tmp_path,), project_root=project, tools="core"))
    names = set(app.server.tool_names())
    assert {
        "cde_selectWorkflow",
        "cde_startFeature",
        "cde_submitWork",
        "cde_getFeatureStatus",
        "cde_listFeatures",
    } <= names
    assert not names & {"cde_cancelFeature", "cde_listRecipes", "cde_useRecipe", "cde_checkRecipes"}


async def test_saved_documents_carry_the_front_matter_the_docs_tools_expect(app: App, project: Path) -> None:
    async with Client(app.server) as client:
        started = await call_ok(
            client,
            "cde_startFeature",
            {"user_prompt": "Export invoices: as CSV, for accounting", "workflow_type": "standard"},
        )
        fid, name = started["feature_id"], started["name"]
        decompose = await call_ok(client, "cde_submitWork", {"feature_id": fid, "phase_id": "define", "results": SPEC})
        own = "---\ntitle: My tasks\ndescription: Mine\n---\n\n1. Do it."  # kept as given: not doubled
        design = await call_ok(
            client, "cde_submitWork", {"feature_id": fid, "phase_id": "decompose", "results": {"tasks": own}}
        )
        analysis = await call_ok(client, "cde_analyzeDocumentation", {})
    spec = (project / "specs" / name / "spec.md").read_text()
    assert spec.startswith(
        '---\ntitle: "Spec: Export invoices: as CSV, for accounting"\n'
        'description: "Export invoices: as CSV, for accounting"\n'
        f'feature: "{name}"\nphase: "define"\n---\n\n'
    )
    assert (project / "specs" / name / "tasks.md").read_text() == own + "\n"
    assert analysis["missing_metadata"] == {}
    assert "AC1: works." in decompose["prompt"] and "title:" not in decompose["prompt"]  # the result, not its metadata
    assert "1. Do it." in design["prompt"] and "title: My tasks" in design["prompt"]  # its own: part of it


async def test_saved_documents_are_the_source_of_later_prompts(app: App, project: Path) -> None:
    async with Client(app.server) as client:
        started = await call_ok(
            client, "cde_startFeature", {"user_prompt": "Export invoices", "workflow_type": "standard"}
        )
        fid, name = started["feature_id"], started["name"]
        await call_ok(client, "cde_submitWork", {"feature_id": fid, "phase_id": "define", "results": SPEC})
        spec = project / "specs" / name / "spec.md"
        assert body_of(spec) == SPEC["spec"] + "\n"
        assert "AC1: works." not in (project / ".cde/state.json").read_text()  # the body lives in the file only
        spec.write_text("# Spec\n\nAC1: edited by the user.\n")
        edited = await call_ok(client, "cde_getFeatureStatus", {"feature_id": fid, "include_prompt": True})
        spec.unlink()
        missing = await call_ok(client, "cde_getFeatureStatus", {"feature_id": fid, "include_prompt": True})
    assert "AC1: edited by the user." in edited["prompt"]
    assert f"(specs/{name}/spec.md is missing: it was moved or deleted; restore it)" in missing["prompt"]


CUSTOM_WORKFLOW = """\
name: team
version: 3
default_type: secure
phases:
  - id: define
    description: Specify it
    recipe: define
    outputs: [{key: spec, file: spec.md}]
  - id: security-audit
    description: Audit the design for threats
    recipe: threat-model
    inputs: [spec]
    outputs: [{key: threats, file: THREATS.md}]
  - id: sign-off
    description: The owner approves
    recipe: review
    handler: human
    inputs: [threats]
    outputs: [{key: decision}]
types:
  secure: {recipe: ai-engineer}
"""


async def test_a_custom_workflow_with_its_own_phases_and_recipe(app: App, project: Path) -> None:
    (project / ".cde/recipes/security").mkdir(parents=True)
    (project / ".cde/workflow.yml").write_text(CUSTOM_WORKFLOW)
    (project / ".cde/recipes/security/threat-model.poml").write_text(
        "<poml><task>List threats for {{ feature_name }}.\n{{ previous_results }}</task></poml>"
    )
    async with Client(app.server) as client:
        started = await call_ok(client, "cde_startFeature", {"user_prompt": "Add file uploads"})
        fid = started["feature_id"]
        audit = await call_ok(client, "cde_submitWork", {"feature_id": fid, "phase_id": "define", "results": SPEC})
        in_audit = await call_ok(client, "cde_listFeatures", {"status": "security-audit"})
        sign_off = await call_ok(
            client, "cde_submitWork", {"feature_id": fid, "phase_id": "security-audit", "results": {"threats": "T1"}}
        )
        done = await call_ok(
            client, "cde_submitWork", {"feature_id": fid, "phase_id": "sign-off", "results": {"decision": "ok"}}
        )
    assert started["workflow_type"] == "secure" and started["phases"] == ["define", "security-audit", "sign-off"]
    assert audit["status"] == "security-audit" and "List threats for add-file-uploads." in audit["prompt"]
    assert "AC1: works." in audit["prompt"]
    assert [f["status"] for f in in_audit["features"]] == ["security-audit"]
    assert sign_off["status"] == "sign-off" and "This phase is done by a human" in sign_off["prompt"]
    # A recipe's `<let name="tools">` tells the phase what to use; a recipe without one adds nothing.
    assert "Tools for this phase: read files, search the codebase; no edits in this phase." in started["prompt"]
    assert "Tools for this phase" not in audit["prompt"]
    assert "## threats (from security-audit)\n\nT1" in sign_off["prompt"]
    assert done["status"] == "completed"
    assert body_of(project / "specs/add-file-uploads/THREATS.md") == "T1\n"


async def test_an_edit_racing_the_write_of_a_document_is_what_later_prompts_read(
    app: App, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = files.atomic_write_sync

    def write_then_edited(path: Path, data: str | bytes, **kwargs: Any) -> os.stat_result:
        written = real_write(path, data, **kwargs)
        if path.name == "spec.md":  # an editor saves its own version right after ours landed
            real_write(path, "# Spec\n\nAC1: saved by the editor.\n")
        return written

    monkeypatch.setattr(files, "atomic_write_sync", write_then_edited)
    async with Client(app.server) as client:
        started = await call_ok(
            client, "cde_startFeature", {"user_prompt": "Export invoices", "workflow_type": "standard"}
        )
        fid = started["feature_id"]
        await call_ok(client, "cde_submitWork", {"feature_id": fid, "phase_id": "define", "results": SPEC})
        status = await call_ok(client, "cde_getFeatureStatus", {"feature_id": fid, "include_prompt": True})
    assert "AC1: saved by the editor." in status["prompt"]


async def test_a_document_that_cannot_be_written_leaves_the_phase_open(app: App, project: Path) -> None:
    async with Client(app.server) as client:
        started = await call_ok(
            client, "cde_startFeature", {"user_prompt": "Export invoices", "workflow_type": "standard"}
        )
        fid, name = started["feature_id"], started["name"]
        blocker = project / "specs" / name / "spec.md"
        blocker.mkdir()  # a folder where the document goes: the write fails, before the state is touched
        state_before = (project / ".cde/state.json").read_bytes()
        refused = await call_error(client, "cde_submitWork", {"feature_id": fid, "phase_id": "define", "results": SPEC})
        status = await call_ok(client, "cde_getFeatureStatus", {"feature_id": fid})
        assert (project / ".cde/state.json").read_bytes() == state_before
        blocker.rmdir()
        accepted = await call_ok(client, "cde_submitWork", {"feature_id": fid, "phase_id": "define", "results": SPEC})
    assert refused.startswith("invalid_input: ") and "spec.md is a directory" in refused and "\n" not in refused
    assert status["status"] == "define" and status["done"] == 0
    assert accepted["status"] == "decompose" and body_of(blocker) == SPEC["spec"] + "\n"


async def test_a_rejecting_review_verdict_or_an_undeclared_key_is_refused_and_the_phase_stays_open(app: App) -> None:
    walk = {
        "define": SPEC,
        "implement": {"summary": "done", "files_changed": "a.py"},
        "test": {"test_report": "3 passed"},
    }
    async with Client(app.server) as client:
        started = await call_ok(client, "cde_startFeature", {"user_prompt": "Fix the crash", "workflow_type": "hotfix"})
        fid = started["feature_id"]
        typo = await call_error(
            client, "cde_submitWork", {"feature_id": fid, "phase_id": "define", "results": {**SPEC, "notez": "x"}}
        )
        for phase, results in walk.items():
            step = await call_ok(client, "cde_submitWork", {"feature_id": fid, "phase_id": phase, "results": results})
        assert "`verdict` (required; one of: approved, approved-with-follow-ups)" in step["prompt"]
        review = {"review": "A blocking bug remains in save()."}
        rejected = await call_error(
            client,
            "cde_submitWork",
            {"feature_id": fid, "phase_id": "review", "results": {**review, "verdict": "rejected"}},
        )
        status = await call_ok(client, "cde_getFeatureStatus", {"feature_id": fid})
        done = await call_ok(
            client,
            "cde_submitWork",
            {"feature_id": fid, "phase_id": "review", "results": {**review, "verdict": "Approved-with-follow-ups"}},
        )
    assert typo.startswith("invalid_transition:") and "notez" in typo and "it takes: spec" in typo
    assert rejected.startswith("invalid_transition: verdict must be one of: approved, approved-with-follow-ups")
    assert status["status"] == "review"
    assert done["status"] == "completed"


async def test_an_unreadable_earlier_document_refuses_the_submission_before_anything_is_recorded(
    app: App, project: Path
) -> None:
    """The next prompt reads spec.md back; when it cannot, the phase stays open and the retry is accepted."""
    async with Client(app.server) as client:
        started = await call_ok(client, "cde_startFeature", {"user_prompt": "Add export", "workflow_type": "standard"})
        fid, folder = started["feature_id"], project / started["spec_dir"]
        await call_ok(client, "cde_submitWork", {"feature_id": fid, "phase_id": "define", "results": SPEC})
        (folder / "spec.md").write_bytes("Caf\xe9\n".encode("latin-1"))  # saved by hand in the wrong encoding
        decompose = {"feature_id": fid, "phase_id": "decompose", "results": {"tasks": "1. x"}}
        refused = await call_error(client, "cde_submitWork", decompose)
        status = await call_ok(client, "cde_getFeatureStatus", {"feature_id": fid})
        assert refused.startswith("corrupt_data: ") and "spec.md" in refused and "then retry" in refused
        assert status["status"] == "decompose" and not (folder / "tasks.md").exists()
        (folder / "spec.md").write_text("# Spec, fixed\n")
        accepted = await call_ok(client, "cde_submitWork", decompose)
    assert accepted["status"] == "design" and "# Spec, fixed" in accepted["prompt"]


async def test_hand_edited_times_are_read_as_utc_or_reported_never_a_crash(app: App, project: Path) -> None:
    """A time without a zone next to `…Z` ones crashed cde_listFeatures (naive vs aware); one out of range in
    UTC crashed cde_getFeatureStatus. The first is read as UTC; the second is corrupt data naming the field."""
    async with Client(app.server) as client:
        first = await call_ok(client, "cde_startFeature", {"user_prompt": "Add a thing"})
        second = await call_ok(client, "cde_startFeature", {"user_prompt": "Add another thing"})
        state = project / ".cde/state.json"
        document = json.loads(state.read_text())
        document["features"][first["feature_id"]]["updated_at"] = "2030-01-01T00:00:00"  # no zone
        state.write_text(json.dumps(document))
        listed = await call_ok(client, "cde_listFeatures", {})
        document["features"][second["feature_id"]]["history"][0]["at"] = "9999-12-31T23:59:59-05:00"
        state.write_text(json.dumps(document))
        status = await call_error(client, "cde_getFeatureStatus", {"feature_id": first["feature_id"]})
    assert [f["feature_id"] for f in listed["features"]] == [first["feature_id"], second["feature_id"]]
    assert listed["features"][0]["updated_at"] == "2030-01-01T00:00:00Z"
    assert status.startswith("corrupt_data: ") and "history.0.at" in status and "out of range in UTC" in status


async def test_text_without_anything_visible_or_with_a_nul_is_refused(app: App, project: Path) -> None:
    """A request of a NUL or zero-width spaces started a feature named `feature` (its NUL then in the spec's
    front matter), and a cancel reason or a skill kept a NUL, though submitted results refuse one."""
    async with Client(app.server) as client:
        nul = await call_error(client, "cde_startFeature", {"user_prompt": "Add\u0000 a thing"})
        invisible = await call_error(client, "cde_startFeature", {"user_prompt": "\u200b\u200b \u2060"})
        started = await call_ok(client, "cde_startFeature", {"user_prompt": "Add a thing"})
        reason = await call_error(
            client, "cde_cancelFeature", {"feature_id": started["feature_id"], "reason": "no\u0000"}
        )
        skill = await call_error(
            client, "cde_saveSkill", {"name": "x-skill", "description": "d", "content": "body\u0000"}
        )
        blank = await call_error(
            client, "cde_saveSkill", {"name": "x-skill", "description": "\u200b", "content": "body"}
        )
        listed = await call_ok(client, "cde_listFeatures", {})
    assert nul == "invalid_input: user_prompt holds a NUL character; send plain text"
    assert invisible.startswith("invalid_input: user_prompt is empty")
    assert reason == "invalid_input: reason holds a NUL character; send plain text"
    assert skill == "invalid_input: content holds a NUL character; send plain text"
    assert blank.startswith("invalid_input: description is empty")
    assert [f["name"] for f in listed["features"]] == ["add-a-thing"]


async def test_a_recipe_id_given_at_start_is_the_role_of_every_phase(app: App, project: Path) -> None:
    """Only refusals of `recipe_id` were tested: that a valid one really sets the role was not."""
    async with Client(app.server) as client:
        started = await call_ok(
            client,
            "cde_startFeature",
            {"user_prompt": "Add a --json flag to the report command", "recipe_id": "documentation-writer"},
        )
        fid = started["feature_id"]
        nxt = await call_ok(client, "cde_submitWork", {"feature_id": fid, "phase_id": "define", "results": SPEC})
        status = await call_ok(client, "cde_getFeatureStatus", {"feature_id": fid, "include_prompt": True})
    assert started["workflow_type"] == "standard"  # the type is still chosen from the request
    for prompt in (started["prompt"], nxt["prompt"], status["prompt"]):
        assert "You are a technical writer" in prompt and "You are a senior software engineer" not in prompt
