from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib
import inspect
import json
import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from mcp.client import Client

from adapters.tool_codegen import MARKER
from infrastructure.files import UMASK
from infrastructure.settings import Settings
from server.bootstrap import App, bootstrap
from tests.conftest import call_error, call_ok, tool_text
from tests.fake_agents import delegation_settings, eventually, gone, install, path_with
from tests.trees import remove_tree


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, project: Path) -> None:
    """The generated runtime builds its own server from the environment, like a script would."""
    monkeypatch.setenv("CDE_HOME", str(tmp_path / "cde-home"))
    monkeypatch.setenv("CDE_PROJECT_ROOT", str(project))
    monkeypatch.setenv("CDE_ALLOWED_ROOTS", str(tmp_path))
    monkeypatch.setenv("CDE_LOG_LEVEL", "WARNING")


@pytest.fixture
def package_name() -> Iterator[str]:
    name = f"gen_{uuid.uuid4().hex[:8]}"
    yield name
    for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        del sys.modules[module]


def import_package(parent: Path, name: str) -> ModuleType:
    sys.path.insert(0, str(parent))
    try:
        importlib.invalidate_caches()
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(parent))


def stats(directory: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_mtime_ns, p.stat().st_ino) for p in directory.glob("*.py")}


@pytest.mark.usefixtures("environment")
async def test_generated_package_imports_and_really_calls_the_tools(app: App, project: Path, package_name: str) -> None:
    async with Client(app.server) as client:
        report = await call_ok(client, "cde_generateToolFilesystem", {"output_dir": f".cde/servers/{package_name}"})
    target = project / ".cde/servers" / package_name
    registered = {t.name: t for t in await app.server.list_tools()}
    assert report["path"] == str(target) and report["tools"] == len(registered)
    assert len(report["written"]) == len(registered) + 2 and report["removed"] == []
    package = import_package(target.parent, package_name)
    assert set(package.TOOLS) == set(registered)
    for name, tool in registered.items():  # every module imports and mirrors its schema
        fn = getattr(package, name)
        assert inspect.iscoroutinefunction(fn)
        params = inspect.signature(fn).parameters
        assert set(params) == set(tool.input_schema.get("properties", {}))
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values())
        required = {n for n, p in params.items() if p.default is inspect.Parameter.empty}
        assert required == set(tool.input_schema.get("required", []))

    health = await package.cde_healthCheck()
    assert health["status"] == "ok" and health["tools"] == len(registered)
    async with package.session():
        saved = await package.cde_saveSkill(name="gen-skill", description="Made by code", content="olive tree")
        found = await package.cde_findSkills(query="olive")
        tools = await package.cde_searchTools(query="skill", detail_level="name_only")
    assert saved == {"name": "gen-skill", "scope": "project", "version": 1, "path": ".cde/skills/gen-skill/SKILL.md"}
    assert [s["name"] for s in found["skills"]] == ["gen-skill"]
    assert "cde_saveSkill" in [t["name"] for t in tools["tools"]]
    with pytest.raises(package.ToolCallError, match=r"^not_found: no skill named 'nope'"):
        await package.cde_getSkill(name="nope")
    with pytest.raises(package.ToolCallError, match="invalid arguments"):
        await package.cde_findSkills(limit=0)
    # The skill written through the generated code is on disk for every other client too.
    async with Client(app.server) as client:
        assert (await call_ok(client, "cde_getSkill", {"name": "gen-skill"}))["version"] == 1


async def test_regeneration_is_incremental(app: App, project: Path, package_name: str) -> None:
    args = {"output_dir": f".cde/servers/{package_name}"}
    target = project / ".cde/servers" / package_name
    async with Client(app.server) as client:
        first = await call_ok(client, "cde_generateToolFilesystem", args)
        times = {p.name: p.stat().st_mtime_ns for p in target.glob("*.py")}
        assert times["__init__.py"] == max(times.values())  # written last: imports never see it ahead of a module
        (target / "my_helpers.py").write_text("# mine\n")
        before = stats(target)
        again = await call_ok(client, "cde_generateToolFilesystem", args)
        assert stats(target) == before  # nothing rewritten: same mtimes and inodes
        app.server.remove_tool("cde_deleteSkill")
        app.server.remove_tool("cde_updateSkill")
        generated = (target / "cde_get_skill.py").read_text()
        (target / "cde_get_skill.py").write_text(generated.replace("async def", "# edited\nasync def", 1))
        # A copy of a generated module (its header too) was deleted as stale, and so was an edited module
        # of a removed tool: both are the user's work.
        copied = (target / "cde_find_skills.py").read_text()
        (target / "my_find_helper.py").write_text(copied)
        edited = (target / "cde_update_skill.py").read_text() + "\n# my notes\n"
        (target / "cde_update_skill.py").write_text(edited)
        after_removal = await call_ok(client, "cde_generateToolFilesystem", args)
    assert again["written"] == [] and again["unchanged"] == len(first["written"])
    assert after_removal["removed"] == ["cde_delete_skill.py"]
    assert (target / "my_find_helper.py").read_text() == copied
    assert (target / "cde_update_skill.py").read_text() == edited
    assert after_removal["written"] == ["__init__.py", "cde_get_skill.py"]  # changed content is repaired
    now = stats(target)
    untouched = set(before) - {"__init__.py", "cde_get_skill.py", "cde_delete_skill.py", "cde_update_skill.py"}
    assert {n: now[n] for n in untouched} == {n: before[n] for n in untouched}
    assert (target / "my_helpers.py").read_text() == "# mine\n"  # not ours: never deleted
    assert "cde_deleteSkill" not in (target / "__init__.py").read_text()


async def test_a_hand_edited_manifest_never_deletes_outside_the_package(
    app: App, project: Path, package_name: str
) -> None:
    args = {"output_dir": f".cde/servers/{package_name}"}
    target = project / ".cde/servers" / package_name
    victims = [project / "victim.py", target / ".hidden.py"]
    async with Client(app.server) as client:
        await call_ok(client, "cde_generateToolFilesystem", args)
        for victim in victims:
            victim.write_text("# keep\n")
        manifest = json.loads((target / ".manifest.json").read_text())
        entry = manifest["cde_get_skill.py"]
        for name in ("../../../victim.py", ".hidden.py", "..", "__init__.py/x.py", "nul\x00.py"):
            manifest[name] = [hashlib.sha256(b"# keep\n").hexdigest(), entry[1]]
        (target / ".manifest.json").write_text(json.dumps(manifest))
        again = await call_ok(client, "cde_generateToolFilesystem", args)
    assert again["removed"] == [] and again["written"] == []
    assert all(victim.read_text() == "# keep\n" for victim in victims)


async def test_output_dir_must_stay_inside_the_project_or_home(app: App, project: Path, tmp_path: Path) -> None:
    home_target = app.container.settings.home / "servers" / "cdehome"
    async with Client(app.server) as client:
        escape = await call_error(client, "cde_generateToolFilesystem", {"output_dir": "../elsewhere/cde"})
        absolute = await call_error(client, "cde_generateToolFilesystem", {"output_dir": str(tmp_path / "x" / "cde")})
        root = await call_error(client, "cde_generateToolFilesystem", {"output_dir": "."})
        git = await call_error(client, "cde_generateToolFilesystem", {"output_dir": ".git/hooks/cde"})
        nested_git = await call_error(
            client, "cde_generateToolFilesystem", {"output_dir": str(project / "sub" / ".GIT" / "hooks" / "cde")}
        )
        not_a_name = await call_error(client, "cde_generateToolFilesystem", {"output_dir": "tools/my-tools"})
        # Valid identifiers, but `import \ufb01le` / `import \uff21bc` look for `file` / `Abc`: never importable.
        unimportable = [
            await call_error(client, "cde_generateToolFilesystem", {"output_dir": f"tools/{name}"})
            for name in ("\ufb01le", "\uff21bc")
        ]
        stdlib = await call_error(client, "cde_generateToolFilesystem", {"output_dir": "pkgs/json"})
        ours = await call_error(client, "cde_generateToolFilesystem", {"output_dir": ".cde/servers/domain"})
        dependency = await call_error(client, "cde_generateToolFilesystem", {"output_dir": ".cde/servers/pydantic"})
        empty = await call_error(client, "cde_generateToolFilesystem", {"output_dir": " "})
        in_home = await call_ok(client, "cde_generateToolFilesystem", {"output_dir": str(home_target)})
        inside_abs = await call_ok(client, "cde_generateToolFilesystem", {"output_dir": str(project / "gen" / "cde")})
    assert escape.startswith("invalid_input:") and ".." in escape
    assert absolute.startswith("permission_denied:")
    assert root.startswith("invalid_input:") and "subdirectory" in root
    assert git.startswith("permission_denied:")
    assert nested_git.startswith("permission_denied:") and "resolves into .GIT/" in nested_git
    assert not_a_name.startswith("invalid_input:") and "package name" in not_a_name
    assert all(e.startswith("invalid_input: output_dir must end in a Python package name (ASCII") for e in unimportable)
    assert not (project / "tools").exists()
    assert stdlib.startswith("invalid_input:") and "standard-library" in stdlib and not (project / "pkgs").exists()
    assert empty == "invalid_input: output_dir is empty; pass a path such as '.cde/servers/cde'"
    for shadowing in (ours, dependency):  # the generated calls start this server, which needs them
        assert shadowing.startswith("invalid_input: output_dir must not end in") and "installed" in shadowing
    assert not (project / ".cde/servers/domain").exists() and not (project / ".cde/servers/pydantic").exists()
    assert in_home["path"] == str(home_target) and (home_target / "__init__.py").is_file()
    assert inside_abs["path"] == str(project / "gen" / "cde")
    assert not (tmp_path / "x").exists() and not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize(
    "output_dir",
    [".cde/tasks/cde", ".cde/cache/cde", ".cde/skills/cde", "HOME/tasks/cde", "HOME/running", "HOME/skills/x/cde"],
)
async def test_output_dir_is_never_a_folder_the_server_manages(app: App, project: Path, output_dir: str) -> None:
    home = app.container.settings.home
    raw = output_dir.replace("HOME", str(home))
    async with Client(app.server) as client:
        message = await call_error(client, "cde_generateToolFilesystem", {"output_dir": raw})
    assert message.startswith("permission_denied: ") and "which cde-orchestrator manages" in message, message
    assert not list(project.rglob("*.py"))
    assert not home.exists() or not list(home.rglob("*.py"))


def test_generated_code_uses_given_server(app: App, project: Path, package_name: str, tmp_path: Path) -> None:
    """`use_server()` lets embedding code target an app it built itself (no environment needed)."""
    import asyncio

    async def run() -> dict[str, Any]:
        await app.container.discovery.generate_tool_filesystem()(tmp_path / package_name)
        package = import_package(tmp_path, package_name)
        package.use_server(app.server)
        return dict(await package.cde_searchTools(query="cde_healthCheck", limit=1))

    assert asyncio.run(run())["tools"][0]["name"] == "cde_healthCheck"


async def test_calls_share_one_server_run_so_a_delegated_task_outlives_its_call(
    tmp_path: Path, project: Path, package_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One in-process server per event loop, not one per call: a per-call server stopped the task it had just
    started, and concurrent calls started and stopped the server under each other."""
    bin_dir = install(tmp_path / "bin", project)
    monkeypatch.setenv("PATH", path_with(bin_dir).split(":")[0] + ":/usr/bin:/bin")
    app = bootstrap(delegation_settings(tmp_path, project))
    runs: list[int] = []

    async def count_run() -> None:
        runs.append(1)

    app.container.startup_hooks.append(count_run)
    await app.container.discovery.generate_tool_filesystem()(tmp_path / package_name)
    package = import_package(tmp_path, package_name)
    package.use_server(app.server)
    try:
        async with package.session():
            started = await package.cde_delegateTask(task_description="x", agent="hang")
            statuses = await asyncio.gather(
                *(package.cde_getTaskStatus(task_id=started["task_id"]) for _ in range(5)),
                package.cde_healthCheck(),
            )
            await eventually(lambda: _status_is(package, started["task_id"], "running"))
        assert runs == [1]
        assert {s["status"] for s in statuses[:5]} <= {"queued", "running"}
        # The block started the server, so its end stopped it, and the task with it.
        after = await package.cde_getTaskStatus(task_id=started["task_id"])
        assert after["status"] == "interrupted" and runs == [1, 1]
        # A later server run in this process delegates again (the stopped pool is not reused).
        again = await package.cde_delegateTask(task_description="y", agent="ok")
        await eventually(lambda: _status_is(package, again["task_id"], "succeeded"))
    finally:
        package.use_server(None)


async def _status_is(package: ModuleType, task_id: str, status: str) -> bool:
    return bool((await package.cde_getTaskStatus(task_id=task_id))["status"] == status)


async def test_a_server_that_cannot_start_is_a_tool_call_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, package_name: str, app: App
) -> None:
    await app.container.discovery.generate_tool_filesystem()(tmp_path / package_name)
    package = import_package(tmp_path, package_name)
    monkeypatch.setenv("CDE_TOOLS", "everything")
    with pytest.raises(package.ToolCallError, match=r"^cannot start cde-orchestrator: .*CDE_TOOLS"):
        await package.cde_healthCheck()
    monkeypatch.setitem(sys.modules, "server.bootstrap", None)  # as in a Python without cde-orchestrator
    with pytest.raises(package.ToolCallError, match=r"^cannot start cde-orchestrator: this Python cannot import"):
        await package.cde_healthCheck()


async def test_the_lean_profile_package_still_has_every_tool(
    settings: Settings, tmp_path: Path, package_name: str
) -> None:
    lean = bootstrap(settings.model_copy(update={"tools": "core"}))
    report = await lean.container.discovery.generate_tool_filesystem()(tmp_path / package_name)
    package = import_package(tmp_path, package_name)
    package.use_server(lean.server)
    try:
        async with package.session():
            saved = await package.cde_saveSkill(name="lean-skill", description="d", content="c")
    finally:
        package.use_server(None)
    assert report.tools == len(package.TOOLS) > len(await lean.server.list_tools())
    assert saved["name"] == "lean-skill"


@pytest.mark.parametrize("init", ["VALUE = 1\n", ""])
async def test_files_it_did_not_write_are_never_overwritten(app: App, project: Path, init: str) -> None:
    """An empty file counts as a crash leftover only beside our manifest: an empty `__init__.py` (the usual
    kind) of the user's own package was overwritten, and their folder filled with tool modules."""
    existing = project / "src" / "mytools"
    existing.mkdir(parents=True)
    (existing / "__init__.py").write_text(init)
    (existing / "cde_get_skill.py").write_text("# my module\n")
    async with Client(app.server) as client:
        refused = await call_error(client, "cde_generateToolFilesystem", {"output_dir": "src/mytools"})
    assert refused.startswith("conflict: output_dir ") and "cde_get_skill.py, __init__.py" in refused
    assert sorted(p.name for p in existing.iterdir()) == ["__init__.py", "cde_get_skill.py"]  # nothing written
    assert (existing / "__init__.py").read_text() == init


async def test_a_generated_module_the_user_rewrote_without_the_header_is_not_overwritten(
    app: App, project: Path, package_name: str
) -> None:
    args = {"output_dir": f".cde/servers/{package_name}"}
    target = project / ".cde/servers" / package_name
    async with Client(app.server) as client:
        await call_ok(client, "cde_generateToolFilesystem", args)
        (target / "cde_get_skill.py").write_text("# my own code now\n")
        refused = await call_error(client, "cde_generateToolFilesystem", args)
        assert (target / "cde_get_skill.py").read_text() == "# my own code now\n"
        (target / "cde_get_skill.py").unlink()
        again = await call_ok(client, "cde_generateToolFilesystem", args)
    assert refused.startswith("conflict: output_dir ") and "cde_get_skill.py" in refused
    assert again["written"] == ["cde_get_skill.py"]


async def test_a_module_a_crash_left_empty_is_rewritten_not_taken_for_the_users(
    app: App, project: Path, package_name: str
) -> None:
    """Modules are not fsynced (derived data): after a power cut one can be there with no text yet, and the
    next run must repair it - an empty file holds nothing of the user's - rather than refuse the folder."""
    args = {"output_dir": f".cde/servers/{package_name}"}
    target = project / ".cde/servers" / package_name
    async with Client(app.server) as client:
        first = await call_ok(client, "cde_generateToolFilesystem", args)
        (target / "cde_get_skill.py").write_bytes(b"")
        (target / "__init__.py").write_bytes(b"")
        (target / ".manifest.json").write_bytes(b"")  # the manifest's last write did not land either
        again = await call_ok(client, "cde_generateToolFilesystem", args)
    assert again["written"] == ["__init__.py", "cde_get_skill.py"]
    assert again["unchanged"] == len(first["written"]) - 2
    assert (target / "cde_get_skill.py").read_text().startswith(MARKER)


def test_a_task_still_running_when_the_event_loop_ends_is_killed(
    tmp_path: Path, project: Path, package_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without session(), the server stops with the loop; the loop's teardown cancels the job's task
    before the server's shutdown can stop it, and the agent must not outlive that."""
    bin_dir = install(tmp_path / "bin", project)
    monkeypatch.setenv("PATH", path_with(bin_dir).split(":")[0] + ":/usr/bin:/bin")
    app = bootstrap(delegation_settings(tmp_path, project))
    asyncio.run(app.container.discovery.generate_tool_filesystem()(tmp_path / package_name))
    package = import_package(tmp_path, package_name)
    package.use_server(app.server)

    async def start() -> str:
        started = await package.cde_delegateTask(task_description="x", agent="hang")
        await eventually(lambda: _status_is(package, started["task_id"], "running"))
        return str(started["task_id"])

    try:
        task_id = asyncio.run(start())
    finally:
        package.use_server(None)
    record = json.loads((project / ".cde/tasks" / task_id / "job.json").read_text())
    assert gone(record["pgid"])


async def test_a_mangled_manifest_means_starting_afresh_not_a_crash(app: App, project: Path) -> None:
    target = project / ".cde/servers/cde"
    async with Client(app.server) as client:
        first = await call_ok(client, "cde_generateToolFilesystem")
        (target / ".manifest.json").write_text("[" * 100_000 + "]" * 100_000)
        again = await call_ok(client, "cde_generateToolFilesystem")
    assert again["unchanged"] + len(again["written"]) == len(first["written"])
    assert json.loads((target / ".manifest.json").read_text())  # rewritten whole


async def test_a_module_appears_complete_or_not_at_all(app: App, project: Path) -> None:
    # A concurrent generator reading a half-written module would take it for the user's (no header).
    target = project / ".cde/servers/cde"
    target.mkdir(parents=True)
    seen_partial: list[str] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            for path in target.glob("cde_*.py"):
                with contextlib.suppress(OSError), path.open("rb") as handle:
                    if not handle.read(len(MARKER)).decode(errors="replace").startswith(MARKER):
                        seen_partial.append(path.name)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        async with Client(app.server) as client:
            results = await asyncio.gather(*(client.call_tool("cde_generateToolFilesystem", {}) for _ in range(4)))
    finally:
        done.set()
        watcher.join()
    assert [r.is_error for r in results] == [False] * 4, [tool_text(r) for r in results if r.is_error]
    assert seen_partial == [] and not list(target.glob(".*.tmp")) and not list(target.parent.glob(".*.tmp"))
    written = {name for r in results for name in r.structured_content["written"]}
    assert sorted(p.name for p in target.iterdir()) == sorted([".manifest.json", *written])


async def test_a_first_generation_appears_whole_and_sweeps_what_a_killed_one_left(app: App, project: Path) -> None:
    """A first generation is written in a folder beside the package and renamed into place (each module
    created in place: a temp file linked in per module cost 1.3-2.8x that); one killed mid-way leaves
    `.cde.<random>.tmp/`, removed by the next first generation once it is old."""
    servers = project / ".cde/servers"
    stale, fresh, users = servers / ".cde.k1ll3d_x.tmp", servers / ".cde.r4c1ng_x.tmp", servers / ".cde.backup.tmp"
    for leftover in (stale, fresh, users):
        leftover.mkdir(parents=True)
        (leftover / "cde_get_skill.py").write_text("# half\n")
        os.utime(leftover, (time.time() - 3600, time.time() - 3600))
    os.utime(fresh, None)
    async with Client(app.server) as client:
        first = await call_ok(client, "cde_generateToolFilesystem")
        again = await call_ok(client, "cde_generateToolFilesystem")
    target = servers / "cde"
    assert not stale.exists() and fresh.exists()  # a recent one may be another generator's, at work
    assert (users / "cde_get_skill.py").exists()  # not named as a build is: the user's, however old
    assert first["unchanged"] == 0 and again["written"] == [] and again["unchanged"] == len(first["written"])
    assert target.stat().st_mode & 0o777 == 0o777 & ~UMASK  # as a plain mkdir makes it, not mkdtemp's 0o700
    manifest = json.loads((target / ".manifest.json").read_text())
    assert sorted(manifest) == sorted(first["written"])


async def test_generated_modules_get_the_mode_of_an_ordinary_file(app: App, project: Path) -> None:
    async with Client(app.server) as client:
        await call_ok(client, "cde_generateToolFilesystem")
    modes = {p.stat().st_mode & 0o777 for p in (project / ".cde/servers/cde").glob("*.py")}
    assert modes == {0o666 & ~UMASK}  # not mkstemp's 0o600: a package the team may share


@pytest.mark.usefixtures("environment")
async def test_under_the_lean_profile_the_package_still_lists_what_it_calls(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, package_name: str, app: App, caplog: pytest.LogCaptureFixture
) -> None:
    """CDE_TOOLS=core lists the core tools only: each call of another one warned, unchecked against its schema."""
    await app.container.discovery.generate_tool_filesystem()(tmp_path / package_name)
    package = import_package(tmp_path, package_name)
    monkeypatch.setenv("CDE_TOOLS", "core")
    async with package.session():
        found = await package.cde_findSkills(query="zzz-nothing")
    assert found["skills"] == []
    assert not [r for r in caplog.records if "not listed" in r.getMessage()]


def test_a_script_using_the_package_keeps_its_own_logging(app: App, project: Path, tmp_path: Path) -> None:
    """The SDK's server constructor ran `logging.basicConfig(level=INFO)`: a script importing the generated
    package had its root logger taken over, and each tool error it caught was also printed on its stderr."""
    asyncio.run(app.container.discovery.generate_tool_filesystem()(tmp_path / "pkg"))
    script = (
        "import asyncio, logging, pkg\n"
        "async def main():\n"
        "    try:\n"
        "        await pkg.cde_getSkill(name='never-saved')\n"
        "    except pkg.ToolCallError as exc:\n"
        "        print('caught', exc.args[0].split(':')[0])\n"
        "asyncio.run(main())\n"
        "print(len(logging.getLogger().handlers), logging.getLogger().level)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "CDE_PROJECT_ROOT": str(project), "CDE_LOG_LEVEL": "INFO"}
    env["CDE_HOME"] = str(app.container.settings.home)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert done.stdout.split("\n")[:2] == ["caught not_found", f"0 {logging.WARNING}"], done.stderr
    assert done.stderr == ""


async def test_a_deep_output_dir_is_made_not_a_recursion_error(app: App, project: Path) -> None:
    """A 3,000-character output_dir (1,500 folders, under the path limit) crashed the tool: Path.mkdir
    creates missing parents recursively, past Python's recursion limit."""
    deep = "a/" * 1100 + "cde"
    try:
        async with Client(app.server) as client:
            generated = await call_ok(client, "cde_generateToolFilesystem", {"output_dir": deep})
        assert (project / deep / "__init__.py").is_file() and generated["written"]
    finally:  # pytest's own clean-up of old temporary folders cannot remove a tree this deep
        if (project / "a").exists():
            remove_tree(project / "a")


async def test_an_existing_empty_output_folder_is_filled_not_replaced(app: App, project: Path) -> None:
    """A first generation renamed a finished folder over an empty output_dir: its mode (setgid, group
    access), owner and inode were lost, and a mount point or a read-only parent made it fail."""
    folder = project / "shared_tools"
    folder.mkdir()
    folder.chmod(0o2770)
    before = folder.stat()
    async with Client(app.server) as client:
        result = await call_ok(client, "cde_generateToolFilesystem", {"output_dir": "shared_tools"})
    after = folder.stat()
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)
    assert result["unchanged"] == 0 and (folder / "__init__.py").is_file()
