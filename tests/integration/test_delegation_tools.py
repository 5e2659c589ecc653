"""The delegation tools through the MCP client, on the real app with fake agent CLIs on PATH."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client

from adapters.agent_detector import probe_version
from adapters.task_index import HomeTaskIndex
from infrastructure.settings import Settings
from server.bootstrap import App, bootstrap
from tests.conftest import call_error, call_ok
from tests.fake_agents import AGENTS, delegation_settings, eventually, install, path_with


@pytest.fixture
def settings(tmp_path: Path, project: Path) -> Settings:
    return delegation_settings(tmp_path, project)


@pytest.fixture(autouse=True)
def fakes(tmp_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = install(tmp_path / "bin", project)
    # Only the fakes and the basic system tools: a real agent CLI on this machine must not leak in.
    monkeypatch.setenv("PATH", path_with(bin_dir).split(":")[0] + ":/usr/bin:/bin")
    return bin_dir


async def wait_done(client: Client, task_id: str) -> dict[str, Any]:
    for _ in range(500):
        status = await call_ok(client, "cde_getTaskStatus", {"task_id": task_id, "tail_lines": 5})
        if status["status"] not in ("queued", "running"):
            return status
        await asyncio.sleep(0.02)
    raise AssertionError(f"task {task_id} did not finish: {status}")


async def test_list_agents_shows_installed_versions_and_custom_agents(app: App) -> None:
    async with Client(app.server) as client:
        listing = await call_ok(client, "cde_listAvailableAgents")
    agents = {a["name"]: a for a in listing["agents"]}
    assert agents["codex"]["available"] and agents["codex"]["version"] == "0.42.1"
    assert agents["codex"]["source"] == "builtin" and agents["codex"]["prompt_via"] == "stdin"
    assert not agents["claude"]["available"] and agents["claude"]["version"] is None
    assert agents["ok"]["source"] == "project" and agents["ok"]["strengths"] == ["tests"]
    assert agents["args"]["prompt_via"] == "file"
    assert "claude" not in listing["available"] and {"codex", "ok", "hang"} <= set(listing["available"])


async def test_select_agent_is_deterministic_and_honours_preference(app: App) -> None:
    async with Client(app.server) as client:
        first = await call_ok(client, "cde_selectAgent", {"task_description": "Write unit tests for the parser"})
        again = await call_ok(client, "cde_selectAgent", {"task_description": "Write unit tests for the parser"})
        preferred = await call_ok(
            client, "cde_selectAgent", {"task_description": "Write unit tests", "preferred_agent": "hang"}
        )
        missing = await call_ok(
            client, "cde_selectAgent", {"task_description": "Write unit tests", "preferred_agent": "claude"}
        )
        unknown = await call_error(client, "cde_selectAgent", {"task_description": "x", "preferred_agent": "nope"})
        # "" is how callers often send an optional string they leave out: no preference, not an agent named "".
        unset = await call_ok(
            client, "cde_selectAgent", {"task_description": "Write unit tests for the parser", "preferred_agent": " "}
        )
    assert first == again == unset
    assert first["agent"] == "codex"  # tests is a codex strength (and ok's); codex has the higher priority
    assert preferred["agent"] == "hang" and "hang was preferred by the caller" in preferred["reasons"]
    assert "preferred agent claude is not installed" in missing["reasons"]
    assert unknown.startswith("not_found: unknown agent 'nope'; available: ")


async def test_delegate_then_follow_the_task(app: App, project: Path) -> None:
    async with Client(app.server) as client:
        started = await call_ok(client, "cde_delegateTask", {"task_description": "add tests", "agent": "ok"})
        assert started["status"] in ("queued", "running") and started["reasons"] == []
        status = await wait_done(client, started["task_id"])
        listing = await call_ok(client, "cde_listActiveTasks", {"include_finished": True})
        active = await call_ok(client, "cde_listActiveTasks")
        stats = await call_ok(client, "cde_getWorkerStats")
        again = await call_error(client, "cde_cancelTask", {"task_id": started["task_id"]})
    assert status["status"] == "succeeded" and status["exit_code"] == 0
    assert status["tail"][-1] == f"done {started['task_id']}"
    assert status["project"] == str(project)
    assert [t["task_id"] for t in listing["tasks"]] == [started["task_id"]] and listing["total"] == 1
    assert active == {"tasks": [], "total": 0}
    assert stats["finished"] == {"succeeded": 1} and stats["max_jobs"] == 2
    assert again.startswith("invalid_transition: task ") and "already finished (succeeded)" in again


async def test_delegate_without_agent_selects_one_with_reasons(app: App) -> None:
    async with Client(app.server) as client:
        started = await call_ok(client, "cde_delegateTask", {"task_description": "fix the failing tests"})
        status = await wait_done(client, started["task_id"])
        unset = await call_ok(client, "cde_delegateTask", {"task_description": "fix the failing tests", "agent": ""})
        await wait_done(client, unset["task_id"])
    assert started["agent"] == unset["agent"] == "codex" and unset["reasons"] == started["reasons"]
    assert started["reasons"][0] == "task kinds: tests, bugfix; complexity: low"
    assert status["tail"][:2] == ["codex ran", "fix the failing tests"]


async def test_cancel_a_running_task(app: App) -> None:
    async with Client(app.server) as client:
        started = await call_ok(client, "cde_delegateTask", {"task_description": "x", "agent": "hang"})
        cancelled = await call_ok(client, "cde_cancelTask", {"task_id": started["task_id"]})
        status = await call_ok(client, "cde_getTaskStatus", {"task_id": started["task_id"]})
    assert cancelled["status"] == status["status"] == "cancelled"
    assert cancelled["error"] == "cancelled on request"


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (
            {"agent": "nope"},
            f"not_found: unknown agent 'nope'; available: codex, {', '.join(sorted(AGENTS))}; "
            "not installed: claude, gemini, cursor-agent, copilot, qwen, aider, opencode; custom agents go in",
        ),
        ({"agent": "claude"}, "unavailable: agent claude is not installed (claude is not on PATH); available: codex"),
        ({"timeout_s": 0}, "invalid_input: invalid arguments for cde_delegateTask: timeout_s:"),
        ({"timeout_s": True}, "invalid_input: invalid arguments for cde_delegateTask: timeout_s: Input should be"),
        ({"timeout_s": 1e20}, "invalid_input: invalid arguments for cde_delegateTask: timeout_s: Input should be"),
    ],
)
async def test_delegation_errors_say_what_is_available(app: App, arguments: dict[str, Any], expected: str) -> None:
    async with Client(app.server) as client:
        message = await call_error(client, "cde_delegateTask", {"task_description": "x", **arguments})
    assert message.startswith(expected), message


async def test_paths_outside_the_allowed_roots_are_refused_with_the_roots(
    settings: Settings, tmp_path: Path, project: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    async with Client(bootstrap(settings.model_copy(update={"allowed_roots": (project,)})).server) as client:
        refused = await call_error(
            client, "cde_delegateTask", {"task_description": "x", "project_path": str(elsewhere)}
        )
        task_id = (await call_ok(client, "cde_delegateTask", {"task_description": "x", "agent": "ok"}))["task_id"]
    async with Client(bootstrap(settings.model_copy(update={"allowed_roots": (elsewhere,)})).server) as client:
        status = await call_error(client, "cde_getTaskStatus", {"task_id": task_id})
    assert refused == (
        f"permission_denied: project_path {elsewhere} is outside the allowed roots ({project}); "
        "add it to CDE_ALLOWED_ROOTS"
    )
    assert status == (
        f"permission_denied: task {task_id}'s project {project} is outside the allowed roots ({elsewhere}); "
        "add it to CDE_ALLOWED_ROOTS"
    )


async def test_a_tasks_folder_linked_outside_the_project_is_refused(
    settings: Settings, project: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    tasks = project / ".cde" / "tasks"
    async with Client(bootstrap(settings).server) as client:
        await wait_done(client, (await call_ok(client, "cde_delegateTask", {"task_description": "x"}))["task_id"])
        tasks.rename(tmp_path / "old-tasks")
        tasks.symlink_to(elsewhere)  # swapped while the server runs
        swapped = await call_error(client, "cde_delegateTask", {"task_description": "x", "agent": "ok"})
    async with Client(bootstrap(settings).server) as client:
        linked = await call_error(client, "cde_delegateTask", {"task_description": "x", "agent": "ok"})
    assert swapped == f"permission_denied: {tasks} now leads elsewhere through a symlink; remove the link and retry"
    assert linked == "permission_denied: the tasks folder '.cde/tasks' resolves outside the project (through a symlink)"
    assert list(elsewhere.iterdir()) == []


async def test_a_file_in_place_of_the_tasks_folder_is_a_one_line_error_leaving_no_pointer(
    settings: Settings, project: Path
) -> None:
    (project / ".cde" / "tasks").write_text("not a folder", encoding="utf-8")
    async with Client(bootstrap(settings).server) as client:
        error = await call_error(client, "cde_delegateTask", {"task_description": "x", "agent": "ok"})
    assert error.startswith("invalid_input: ") and "is not a directory" in error
    assert list((settings.home / "tasks").glob("*")) == []  # no pointer to a task without a record


async def test_tasks_are_listed_newest_first_even_within_one_second(app: App) -> None:
    async with Client(app.server) as client:
        ids = [
            (await call_ok(client, "cde_delegateTask", {"task_description": f"job {i}", "agent": "ok"}))["task_id"]
            for i in range(6)
        ]
        for task_id in ids:
            await wait_done(client, task_id)
        listing = await call_ok(client, "cde_listActiveTasks", {"include_finished": True})
    assert [t["task_id"] for t in listing["tasks"]] == ids[::-1]


async def test_no_agent_installed_is_unavailable(app: App, monkeypatch: pytest.MonkeyPatch, project: Path) -> None:
    (project / ".cde" / "agents.yml").unlink()
    monkeypatch.setenv("PATH", "/nonexistent")
    async with Client(app.server) as client:
        message = await call_error(client, "cde_delegateTask", {"task_description": "x"})
    assert message.startswith("unavailable: no agent CLI is installed (looked on PATH for claude, codex, gemini")


async def test_task_ids_are_validated_and_unknown_ones_reported(app: App) -> None:
    async with Client(app.server) as client:
        bad = await call_error(client, "cde_getTaskStatus", {"task_id": "../etc"})
        empty = await call_error(client, "cde_cancelTask", {"task_id": ""})
        # A safe name, but not a task id: a stray file in a tasks folder is never taken for a task.
        slug = await call_error(client, "cde_getTaskStatus", {"task_id": "cde_health_check.py"})
        fullwidth = "20250131-120000".translate({ord(d): 0xFF10 + int(d) for d in "0123456789"}) + "-a1b2c3"
        wide = await call_error(client, "cde_getTaskStatus", {"task_id": fullwidth})
        unknown = await call_error(client, "cde_cancelTask", {"task_id": "20250101-000000-ffffff"})
        blank = await call_error(client, "cde_selectAgent", {"task_description": "   "})
    assert bad == (
        "invalid_input: task_id '../etc' is not a task id such as 20250131-120000-a1b2c3; "
        "cde_delegateTask returns one, cde_listActiveTasks lists them"
    )
    assert empty.startswith("invalid_input: task_id '' is not a task id such as")
    assert slug.startswith("invalid_input: task_id 'cde_health_check.py' is not a task id such as")
    assert wide.startswith(f"invalid_input: task_id '{fullwidth}' is not a task id")  # digits, but not ASCII
    assert blank == "invalid_input: task_description is empty; describe the work to delegate"
    assert unknown.startswith("not_found: unknown task_id '20250101-000000-ffffff'; list a project's tasks")


async def test_broken_agents_yml_names_the_field(app: App, project: Path) -> None:
    (project / ".cde" / "agents.yml").write_text("agents:\n  mine:\n    command: []\n")
    async with Client(app.server) as client:
        message = await call_error(client, "cde_listAvailableAgents")
    assert message.startswith(f"corrupt_data: {project / '.cde' / 'agents.yml'} is unreadable (agents.mine.command: ")


async def test_a_restarted_server_finds_tasks_by_id_in_any_project(settings: Settings, tmp_path: Path) -> None:
    other = tmp_path / "other-project"
    other.mkdir()
    install(tmp_path / "bin", other)
    async with Client(bootstrap(settings).server) as client:
        done = await call_ok(
            client, "cde_delegateTask", {"task_description": "a", "agent": "ok", "project_path": str(other)}
        )
        await wait_done(client, done["task_id"])
        hung = await call_ok(client, "cde_delegateTask", {"task_description": "b", "agent": "hang"})
    # The first server is gone (its shutdown interrupted the hanging task); a new one answers by id alone.
    async with Client(bootstrap(settings).server) as client:
        finished = await call_ok(client, "cde_getTaskStatus", {"task_id": done["task_id"], "tail_lines": 1})
        interrupted = await call_ok(client, "cde_getTaskStatus", {"task_id": hung["task_id"]})
    assert finished["status"] == "succeeded" and finished["project"] == str(other)
    assert finished["tail"] == [f"done {done['task_id']}"]
    assert interrupted["status"] == "interrupted"
    assert interrupted["error"] == "the server stopped while the task was active"


async def test_a_second_session_on_the_same_app_can_delegate(app: App) -> None:
    for _ in range(2):
        async with Client(app.server) as client:
            started = await call_ok(client, "cde_delegateTask", {"task_description": "x", "agent": "ok"})
            status = await wait_done(client, started["task_id"])
        assert status["status"] == "succeeded"


async def test_finished_tasks_beyond_the_retention_are_pruned(tmp_path: Path, project: Path) -> None:
    app = bootstrap(delegation_settings(tmp_path, project, job_keep=2))
    async with Client(app.server) as client:
        ids = []
        for i in range(4):
            started = await call_ok(client, "cde_delegateTask", {"task_description": f"job {i}", "agent": "ok"})
            await wait_done(client, started["task_id"])
            ids.append(started["task_id"])
        tasks = project / ".cde/tasks"

        async def pruned() -> bool:
            # Pruning runs in the background once a task has ended: the listing drops the tasks as their
            # folders are renamed aside, and the trash folder and the pointers go just after.
            listing = await call_ok(client, "cde_listActiveTasks", {"include_finished": True})
            kept = sorted(p.name for p in tasks.iterdir() if p.name != ".gitignore")
            pointers = [ids[0], ids[1]]
            left = [i for i in pointers if (tmp_path / "cde-home/tasks" / i).exists()]
            return listing["total"] == 2 and kept == sorted(ids[2:]) and not left

        await eventually(pruned)
        listing = await call_ok(client, "cde_listActiveTasks", {"include_finished": True})
        gone = await call_error(client, "cde_getTaskStatus", {"task_id": ids[0]})
    assert sorted(t["task_id"] for t in listing["tasks"]) == sorted(ids[2:])
    assert gone.startswith("not_found: unknown task_id")


async def test_a_pointer_whose_task_is_gone_is_dropped_on_first_use(app: App, tmp_path: Path, project: Path) -> None:
    pointer = tmp_path / "cde-home" / "tasks" / "20250101-000000-cccccc"
    pointer.parent.mkdir(parents=True, exist_ok=True)
    pointer.write_text(f"{project}\n", encoding="utf-8")  # as a prune interrupted before its pointers went
    async with Client(app.server) as client:
        gone = await call_error(client, "cde_getTaskStatus", {"task_id": pointer.name})
    assert gone.startswith("not_found: task 20250101-000000-cccccc has no record in ")
    assert not pointer.exists()


async def test_pruning_a_copy_of_a_project_keeps_the_originals_task_pointers(tmp_path: Path, project: Path) -> None:
    """A copy's records carry the original's task ids: deleting them in the copy removed the pointers the
    original's tasks are found by (cde_getTaskStatus then said `unknown task_id`)."""
    index = HomeTaskIndex(tmp_path / "cde-home", default_root=project, allowed_roots=(tmp_path,))
    copy = tmp_path / "copy"
    copy.mkdir()
    await index.remember("20250101-000000-dddddd", project)
    await index.forget(["20250101-000000-dddddd"], copy)  # the copy pruned its copy of the record
    assert await index.locate("20250101-000000-dddddd") == project
    await index.forget(["20250101-000000-dddddd"], project)
    assert not (tmp_path / "cde-home" / "tasks" / "20250101-000000-dddddd").exists()


async def test_a_version_probe_leaves_no_process_behind(tmp_path: Path) -> None:
    """An agent CLI whose --version started `sleep &` (and a child in a group of its own) left them running
    after cde_listAvailableAgents, reparented to init: only a probe that timed out had its group killed."""
    marker = f"probe-leftover-{tmp_path.name}"
    cli = tmp_path / "leaky-cli"
    cli.write_text(
        "#!/bin/sh\n"
        f"python3 -c 'import time; time.sleep(1000)' {marker} &\n"
        f"python3 -c 'import os, time; os.setpgid(0, 0); time.sleep(1000)' {marker} &\n"
        "echo leaky 1.2.3\n"
    )
    cli.chmod(0o755)
    version = await probe_version(str(cli), ("--version",), 5.0)

    def leftovers() -> list[str]:
        found = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split()
        return [pid for pid in found if int(pid) != os.getpid()]

    try:
        assert version == "1.2.3"
        await eventually(lambda: asyncio.to_thread(lambda: not leftovers()))
        assert not leftovers()
    finally:
        for pid in leftovers():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)


async def test_task_status_never_reads_through_a_link_out_of_the_project(
    app: App, project: Path, tmp_path: Path
) -> None:
    """A crafted `.cde/tasks/<id>/` whose output.log links to a file outside the project had that file's
    lines returned as the task's output; a task folder that is itself a link was read too."""
    secret = tmp_path / "outside-secret.txt"
    secret.write_text("SECRET-OUTSIDE-PROJECT\n")
    outside = tmp_path / "outside-task"
    tasks = project / ".cde" / "tasks"
    async with Client(app.server) as client:
        done = await call_ok(client, "cde_delegateTask", {"task_description": "x", "agent": "ok"})
        await wait_done(client, done["task_id"])
    log = tasks / done["task_id"] / "output.log"
    log.unlink()
    log.symlink_to(secret)
    record = json.loads((tasks / done["task_id"] / "job.json").read_text())
    record["id"] = "20250101-000000-aaaaaa"
    outside.mkdir()
    (outside / "job.json").write_text(json.dumps(record))
    (outside / "output.log").write_text("SECRET-OUTSIDE-PROJECT\n")
    (tasks / "20250101-000000-aaaaaa").symlink_to(outside)
    async with Client(bootstrap(app.container.settings).server) as client:  # one reading the files
        linked_log = await call_error(client, "cde_getTaskStatus", {"task_id": done["task_id"], "tail_lines": 5})
        linked_folder = await call_error(client, "cde_getTaskStatus", {"task_id": "20250101-000000-aaaaaa"})
    assert "SECRET" not in linked_log and "output.log is, or passes through, a symlink" in linked_log
    assert "SECRET" not in linked_folder and "is a symlink; a task's folder must be a real folder" in linked_folder
