"""The real worker pool running fake agent CLIs: limits, timeouts, cancellation, output, cleanup."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

import adapters.job_pool as job_pool
from adapters.agent_process import popen_sync
from domain.delegation.launch import LaunchPlan
from domain.errors import LimitExceededError
from infrastructure.settings import Settings
from server.wiring.delegation import Delegation, build_delegation
from tests.fake_agents import delegation_settings, eventually, gone, install, path_with


@pytest.fixture
def settings(tmp_path: Path, project: Path) -> Settings:
    return delegation_settings(tmp_path, project, max_jobs=2, job_queue=4)


@pytest.fixture(autouse=True)
def fakes(tmp_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = install(tmp_path / "bin", project)
    monkeypatch.setenv("PATH", path_with(bin_dir))
    return bin_dir


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Delegation]:
    delegation = build_delegation(settings)
    await delegation.start()
    try:
        yield delegation
    finally:
        await delegation.stop()


async def finished(d: Delegation, task_id: str) -> dict[str, object]:
    async def done() -> bool:
        return (await d.get_task_status(task_id)).status not in ("queued", "running")

    await eventually(done)
    return (await d.get_task_status(task_id, tail_lines=50)).model_dump()


async def started(d: Delegation, task_id: str) -> None:
    async def is_running() -> bool:
        view = await d.get_task_status(task_id)
        if view.status != "running" or not view.tail:  # the agent printed: its handlers are set
            return False
        record = Path(view.project) / ".cde" / "tasks" / task_id / "job.json"
        return bool(json.loads(record.read_text())["status"] == "running")  # and the pgid is on disk

    await eventually(is_running)


async def test_agent_gets_the_prompt_on_stdin_and_its_output_is_logged(settings: Settings, project: Path) -> None:
    async with running(settings) as d:
        result = await d.delegate_task(project, "write the tests", agent="ok", context="the parser is in parse.py")
        status = await finished(d, result.task_id)
    assert status["status"] == "succeeded" and status["exit_code"] == 0
    tail = status["tail"]
    assert isinstance(tail, list)
    assert tail[0] == "args: --flag"
    assert "write the tests" in tail and "the parser is in parse.py" in tail
    assert tail[-1] == f"done {result.task_id}"
    log = Path(str(status["log"])).read_text()
    assert log.splitlines() == tail
    record = json.loads((project / ".cde" / "tasks" / result.task_id / "job.json").read_text())
    assert record["status"] == "succeeded" and record["started_at"] and record["finished_at"]
    assert (project / ".cde" / "tasks" / ".gitignore").read_text() == "*\n"
    assert not (settings.home / "running" / result.task_id).exists()  # active markers go with the job


async def test_failing_agent_is_failed_with_its_exit_code_and_stderr(settings: Settings, project: Path) -> None:
    async with running(settings) as d:
        result = await d.delegate_task(project, "anything", agent="fail")
        status = await finished(d, result.task_id)
    assert status["status"] == "failed"
    assert status["exit_code"] == 3
    assert status["error"] == "agent exited with code 3"
    assert status["tail"] == ["about to fail", "boom"]


async def test_concurrency_limit_is_respected(settings: Settings, project: Path, tmp_path: Path) -> None:
    trace = tmp_path / "trace.txt"
    install(tmp_path / "bin", project, extra_agents={"slot": {"command": ["fake-slot", str(trace), "{prompt}"]}})
    async with running(settings) as d:
        ids = [(await d.delegate_task(project, f"job {i}", agent="slot")).task_id for i in range(5)]
        await eventually(lambda: asyncio.to_thread(lambda: trace.exists() and len(trace.read_text().split()) == 4))
        stats = await d.worker_stats()
        assert (stats.running, stats.queued) == (2, 3)  # the slot agents wait for a go
        statuses = [(await d.get_task_status(task_id)).status for task_id in ids]
        assert statuses == ["running"] * 2 + ["queued"] * 3  # first in, first out
        trace.with_suffix(".txt.go").touch()
        results = [await finished(d, task_id) for task_id in ids]
        stats = await d.worker_stats()
    assert [r["status"] for r in results] == ["succeeded"] * 5
    concurrent = peak = 0
    for line in trace.read_text().splitlines():
        concurrent += 1 if line.startswith("start") else -1
        peak = max(peak, concurrent)
    assert peak <= settings.max_jobs
    assert sorted(line.split()[1] for line in trace.read_text().splitlines() if line.startswith("end")) == sorted(ids)
    assert stats.finished == {"succeeded": 5} and stats.running == stats.queued == 0
    assert stats.mean_duration_s is not None and stats.mean_duration_s > 0


async def test_run_time_is_the_agents_even_when_the_event_loop_was_busy(
    settings: Settings, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.get_running_loop()

    def popen_then_a_busy_loop(plan: LaunchPlan, env: Mapping[str, str]) -> tuple[subprocess.Popen[bytes], int]:
        spawned = popen_sync(plan, env)
        loop.call_soon_threadsafe(time.sleep, 0.3)  # the loop is busy (a big scan, say) as the agent starts
        return spawned

    monkeypatch.setattr(job_pool, "popen_sync", popen_then_a_busy_loop)
    async with running(settings) as d:
        result = await d.delegate_task(project, "0.4", agent="nap")
        status = await finished(d, result.task_id)
        stats = await d.worker_stats()
    assert status["status"] == "succeeded" and status["tail"] == ["rested"]
    duration = status["duration_s"]
    assert isinstance(duration, float) and 0.4 <= duration < 1.5  # timed at the spawn, not when the loop got to it
    assert stats.mean_duration_s == duration


async def test_timeout_stops_the_whole_process_group(settings: Settings, project: Path) -> None:
    async with running(settings) as d:
        result = await d.delegate_task(project, "never ends", agent="hang", timeout_s=0.5)
        status = await finished(d, result.task_id)
    assert status["status"] == "timed_out"
    assert status["exit_code"] == -signal.SIGTERM
    assert "timed out after 0.5s" in str(status["error"])
    pgid = json.loads((project / ".cde" / "tasks" / result.task_id / "job.json").read_text())["pgid"]
    assert gone(pgid)


async def test_cancel_running_agent_that_ignores_sigterm_kills_it(settings: Settings, project: Path) -> None:
    async with running(settings) as d:
        result = await d.delegate_task(project, "stubborn", agent="stubborn")
        await started(d, result.task_id)
        state = await d.cancel_task(result.task_id)
        status = (await d.get_task_status(result.task_id)).model_dump()
    assert state.status == "cancelled"
    assert state.exit_code == -signal.SIGKILL
    assert status["tail"] == ["ignoring SIGTERM"]
    pgid = json.loads((project / ".cde" / "tasks" / result.task_id / "job.json").read_text())["pgid"]
    assert gone(pgid)


async def test_cancel_queued_job_never_starts_it(settings: Settings, project: Path) -> None:
    async with running(settings) as d:
        blockers = [(await d.delegate_task(project, "block", agent="hang")).task_id for _ in range(2)]
        queued = (await d.delegate_task(project, "waits", agent="ok")).task_id
        assert (await d.get_task_status(queued)).status == "queued"
        state = await d.cancel_task(queued)
        view = await d.get_task_status(queued)
        for task_id in blockers:
            await d.cancel_task(task_id)
        stats = await d.worker_stats()
    assert state.status == "cancelled" and state.exit_code is None
    assert view.duration_s is None and view.tail == []
    assert not (project / ".cde" / "tasks" / queued / "output.log").exists()
    assert stats.finished == {"cancelled": 3}


async def test_cancelling_kills_the_agents_children_too(settings: Settings, project: Path) -> None:
    async with running(settings) as d:
        result = await d.delegate_task(project, "spawn", agent="spawner")
        await started(d, result.task_id)
        pgid = json.loads((project / ".cde" / "tasks" / result.task_id / "job.json").read_text())["pgid"]
        assert not gone(pgid)
        assert (settings.home / "running" / result.task_id).exists()
        await d.cancel_task(result.task_id)
    assert gone(pgid)
    assert not (settings.home / "running" / result.task_id).exists()


@pytest.mark.parametrize("ending", ["cancel", "exit"])
async def test_a_child_moved_to_a_group_of_its_own_ends_with_the_job(
    settings: Settings, project: Path, ending: str
) -> None:
    """A process the agent moved to another process group (setpgid) is still in the job's session: it
    survived cancel, the agent's exit and restart recovery, which signalled the agent's group alone."""
    async with running(settings) as d:
        result = await d.delegate_task(project, ending, agent="regrouper")
        # The whole line (a status read while the log is being written may see only its start: "child 12"
        # of "child 12345"), which ends in "ready".
        async with asyncio.timeout(30):
            while not re.fullmatch(
                r"child \d+ ready", (tail := (await d.get_task_status(result.task_id, tail_lines=5)).tail or [""])[0]
            ):
                await asyncio.sleep(0.02)
        child = int(tail[0].split()[1])
        if ending == "cancel":  # (on exit the job may be over, the child killed and reaped, by now)
            assert os.getpgid(child) == child  # its own group
            await d.cancel_task(result.task_id)
        status = await finished(d, result.task_id)
    assert status["status"] == ("cancelled" if ending == "cancel" else "succeeded")
    assert not alive(child)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


async def test_output_tail_of_a_large_output(settings: Settings, project: Path) -> None:
    async with running(settings) as d:
        result = await d.delegate_task(project, "200000", agent="chatty")
        status = await finished(d, result.task_id)
        memory_tail = (await d.get_task_status(result.task_id, tail_lines=3)).tail
        disk_tail = await (await d.stores.for_project(project)).tail(result.task_id, 3)
    assert status["status"] == "succeeded"
    assert memory_tail == disk_tail == ["199998", "199999", "200000"]
    log = Path(str(status["log"])).read_text().splitlines()
    assert len(log) == 200_000 and log[0] == "1"


async def test_the_log_is_bounded_and_still_ends_with_the_last_output(settings: Settings, project: Path) -> None:
    async with running(settings) as d:
        d.pool.log_limit = 10_000
        result = await d.delegate_task(project, "200000", agent="chatty")  # 1.3 MB of numbered lines
        status = await finished(d, result.task_id)
        disk_tail = await (await d.stores.for_project(project)).tail(result.task_id, 3)
        just_over = await finished(d, (await d.delegate_task(project, "3000", agent="chatty")).task_id)
    # Past the limit by less than the tail: the log is whole, without a note.
    assert Path(str(just_over["log"])).read_bytes() == b"".join(b"%d\n" % i for i in range(1, 3001))
    log = Path(str(status["log"])).read_bytes()
    assert status["status"] == "succeeded"
    assert log.startswith(b"1\n2\n3\n")
    gap = len(b"".join(b"%d\n" % i for i in range(1, 200_001))) - 10_000 - 64 * 1024
    note = f"\n[cde-orchestrator: output.log is limited; {gap} bytes were not logged]\n".encode()
    assert len(log) == 10_000 + len(note) + 64 * 1024  # the head, the note, the last 64 KiB
    assert log[10_000 : 10_000 + len(note)] == note
    assert log.endswith(b"199999\n200000\n")
    assert disk_tail == status["tail"][-3:] == ["199998", "199999", "200000"]


async def test_large_prompt_reaches_an_argument_agent_through_its_file(settings: Settings, project: Path) -> None:
    big = "x" * 100_000
    async with running(settings) as d:
        result = await d.delegate_task(project, big, agent="args")
        status = await finished(d, result.task_id)
    prompt_file = project / ".cde" / "tasks" / result.task_id / "prompt.md"
    assert status["tail"] == [
        f"[--message=Your task is described in the file {prompt_file}. Read it completely, then carry it out.]",
        f"[{prompt_file}]",
    ]
    assert prompt_file.read_text() == big + "\n"


async def test_full_queue_is_refused_with_a_clear_error(tmp_path: Path, project: Path) -> None:
    settings = delegation_settings(tmp_path, project, max_jobs=1, job_queue=1)
    async with running(settings) as d:
        await d.delegate_task(project, "one", agent="hang")
        await d.delegate_task(project, "two", agent="hang")
        with pytest.raises(LimitExceededError, match="worker queue is full") as refused:
            await d.delegate_task(project, "three", agent="hang")
        listing = await d.list_tasks(project, include_finished=True)
    assert sorted(t.status for t in listing.tasks) == ["failed", "queued", "running"]
    failed = next(t for t in listing.tasks if t.status == "failed")
    assert str(refused.value).endswith(f"(task {failed.task_id}, not run)")  # the listed record is named


async def test_agent_that_cannot_start_fails(settings: Settings, project: Path, tmp_path: Path) -> None:
    broken = tmp_path / "bin" / "fake-broken"
    broken.write_text("#!/nonexistent/interpreter\n")
    broken.chmod(0o755)
    install(tmp_path / "bin", project, extra_agents={"broken": {"command": ["fake-broken", "{prompt}"]}})
    async with running(settings) as d:
        result = await d.delegate_task(project, "x", agent="broken")
        status = await finished(d, result.task_id)
    assert status["status"] == "failed"
    assert str(status["error"]).startswith(f"cannot start {broken}")


async def test_a_missing_prompt_file_fails_the_task_and_leaks_no_descriptor(
    settings: Settings, project: Path, tmp_path: Path
) -> None:
    plan = LaunchPlan(argv=("/bin/cat",), cwd=project, prompt_file=tmp_path / "gone.md", stdin_prompt=True)
    before = set(os.listdir("/proc/self/fd"))
    with pytest.raises(FileNotFoundError):
        popen_sync(plan, os.environ)
    assert set(os.listdir("/proc/self/fd")) == before
    async with running(settings) as d:
        blocker = (await d.delegate_task(project, "block", agent="hang")).task_id
        await d.delegate_task(project, "block", agent="hang")
        queued = (await d.delegate_task(project, "reads stdin", agent="ok")).task_id
        prompt = project / ".cde" / "tasks" / queued / "prompt.md"
        prompt.unlink()
        await d.cancel_task(blocker)
        status = await finished(d, queued)
    assert status["status"] == "failed"
    assert status["error"] == f"cannot start {tmp_path / 'bin' / 'fake-ok'}: No such file or directory ({prompt})"


async def test_shutdown_stops_every_job_and_leaves_no_process(settings: Settings, project: Path) -> None:
    async with running(settings) as d:
        first = (await d.delegate_task(project, "a", agent="stubborn")).task_id
        second = (await d.delegate_task(project, "b", agent="spawner")).task_id
        queued = (await d.delegate_task(project, "c", agent="hang")).task_id
        await started(d, first)
        await started(d, second)
    records = {
        task_id: json.loads((project / ".cde" / "tasks" / task_id / "job.json").read_text())
        for task_id in (first, second, queued)
    }
    assert {r["status"] for r in records.values()} == {"interrupted"}
    assert records[queued]["error"] == "the server stopped before the task started"
    assert records[queued]["pgid"] is None
    for task_id in (first, second):
        assert gone(records[task_id]["pgid"]), f"{task_id} left processes behind"
    assert not any((settings.home / "running").iterdir())


async def test_shutdown_stops_many_running_agents_in_one_sweep(
    tmp_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """150 agents ignoring SIGTERM (64 running): the shutdown stopped them one by one, each job scanning /proc
    every 50 ms for its own processes, and recorded each queued job in turn before any agent was signalled.
    Still at it after 4 s, the server was killed by its client, and ~150 agent processes outlived it."""
    per_job: list[int] = []
    real_stop_group = job_pool.stop_group

    async def counted(pgid: int, grace: float) -> None:
        per_job.append(pgid)
        await real_stop_group(pgid, grace)

    monkeypatch.setattr(job_pool, "stop_group", counted)
    d = build_delegation(delegation_settings(tmp_path, project, max_jobs=12, job_queue=20))
    await d.start()
    ids = [(await d.delegate_task(project, f"job {i}", agent="stubborn")).task_id for i in range(24)]
    for task_id in ids[:12]:
        await started(d, task_id)
    await asyncio.wait_for(d.stop(), 15)  # a deadline against a hang, not a timing check
    records = [json.loads((project / ".cde" / "tasks" / i / "job.json").read_text()) for i in ids]
    assert {r["status"] for r in records} == {"interrupted"}
    assert per_job == []  # one sweep stopped every group, not a stop (and a /proc poll) per job
    for r in records[:12]:
        assert gone(r["pgid"])


async def test_shutdown_does_not_wait_out_a_long_kill_grace(tmp_path: Path, project: Path) -> None:
    d = build_delegation(delegation_settings(tmp_path, project, job_kill_grace=600.0))
    await d.start()
    ids = [(await d.delegate_task(project, name, agent="stubborn")).task_id for name in ("stop", "cancel")]
    for task_id in ids:
        await started(d, task_id)
    cancel = asyncio.ensure_future(d.cancel_task(ids[1]))  # a stop begun with the full grace
    await asyncio.sleep(0.1)
    # A deadline against a hang (the clients that launch a server kill it after ~4 s), not a timing check.
    await asyncio.wait_for(d.stop(), 15)
    cancelled = await cancel
    records = [json.loads((project / ".cde" / "tasks" / i / "job.json").read_text()) for i in ids]
    assert [r["status"] for r in records] == ["interrupted", "cancelled"] and cancelled.status == "cancelled"
    assert [r["exit_code"] for r in records] == [-signal.SIGKILL] * 2
    for r in records:
        assert gone(r["pgid"])


async def test_cancel_racing_shutdown_on_a_queued_job_ends_it_once(settings: Settings, project: Path) -> None:
    d = build_delegation(settings)
    await d.start()
    for _ in range(2):
        await d.delegate_task(project, "block", agent="hang")
    queued = (await d.delegate_task(project, "waits", agent="ok")).task_id
    cancel = asyncio.ensure_future(d.cancel_task(queued))
    await asyncio.sleep(0)
    await d.stop()
    state = await cancel
    assert state.status == "cancelled"
    assert json.loads((project / ".cde" / "tasks" / queued / "job.json").read_text())["status"] == "cancelled"
    assert (await d.worker_stats()).finished == {"cancelled": 1, "interrupted": 2}


async def test_a_pipe_held_open_outside_the_job_does_not_hang_it(settings: Settings, project: Path) -> None:
    async with running(settings) as d:
        d.pool.drain_timeout = 0.2
        result = await d.delegate_task(project, "x", agent="escaper")
        status = await finished(d, result.task_id)
    tail = status["tail"]
    assert isinstance(tail, list) and tail[0].startswith("escaped ")
    with contextlib.suppress(ProcessLookupError):  # killed already if it had not left the job's session yet
        os.kill(int(tail[0].split()[1]), signal.SIGKILL)  # the escaped process is not the job's: clean up here
    assert status["status"] == "succeeded"


async def test_a_delegation_cancelled_midway_leaves_no_task_pending(settings: Settings, project: Path) -> None:
    async with running(settings) as d:
        answered = set()
        for step in range(60):  # cancel the call after 0, 0.25, 0.5... ms: before, during and after creation
            call = asyncio.ensure_future(d.delegate_task(project, f"call {step}", agent="ok"))
            await asyncio.sleep(step / 4000)
            call.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                answered.add((await call).task_id)

        store = await d.stores.for_project(project)

        async def settled() -> bool:
            # Every lease released too: no task waits for a run that never comes. (The last save releases
            # its lease just after its record, which a listing reads, is on disk.)
            listing = await d.list_tasks(project, include_finished=True, limit=200)
            return not any(t.status in ("queued", "running") for t in listing.tasks) and not store._leases

        await eventually(settled)
        listing = await d.list_tasks(project, include_finished=True, limit=200)
    # A call cancelled after its record was written withdraws the task; no agent runs for it.
    assert {t.task_id: t.status for t in listing.tasks} == {
        t.task_id: "succeeded" if t.task_id in answered else "cancelled" for t in listing.tasks
    }


async def test_a_task_cancelled_while_queued_applies_the_retention_too(settings: Settings, project: Path) -> None:
    async with running(settings.model_copy(update={"job_keep": 1})) as d:
        blockers = [(await d.delegate_task(project, "block", agent="hang")).task_id for _ in range(2)]
        first = (await d.delegate_task(project, "waits", agent="ok")).task_id
        second = (await d.delegate_task(project, "waits too", agent="ok")).task_id
        await d.cancel_task(first)
        await d.cancel_task(second)  # two finished tasks, only one kept: the older one goes

        async def pruned() -> bool:
            return not (project / ".cde" / "tasks" / first).exists()

        await eventually(pruned)  # while both blockers still run: no job slot was freed
        assert (project / ".cde" / "tasks" / second).exists()
        for task_id in blockers:
            await d.cancel_task(task_id)
