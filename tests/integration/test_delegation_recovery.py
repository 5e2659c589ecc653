"""Restart recovery: jobs of a server that died are marked interrupted; a live server's are left alone."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import adapters.fs_job_store as fs_job_store
from adapters.fs_job_store import FsJobStore, recover_sync
from adapters.process_group import kill_orphaned_job, live_members
from domain.clock import utc_now
from domain.delegation.job import Job, JobStatus
from domain.errors import ConflictError, CorruptDataError
from infrastructure.settings import Settings
from server.wiring.delegation import build_delegation
from tests.fake_agents import eventually, gone

RUNNING_ID = "20250101-000000-aaaaaa"
QUEUED_ID = "20250101-000001-bbbbbb"

# Another server process: it records one running job (with a real agent process) and one queued job,
# then either dies abruptly ("crash") or stays alive holding the jobs' leases until its stdin closes.
# "crash-unrecorded" also starts the queued job's agent and dies before recording it (it prints that pid).
OTHER_SERVER = f"""
import asyncio, os, subprocess, sys
from pathlib import Path
from adapters.fs_job_store import FsJobStore
from adapters.process_group import task_environment
from domain.delegation.job import Job
from domain.clock import utc_now

async def main():
    root = Path(sys.argv[1])
    store = FsJobStore(root, active_dir=Path(sys.argv[3]) if len(sys.argv) > 3 else None)
    now = utc_now()
    def job(job_id):
        return Job(id=job_id, agent="hang", project=str(root), prompt_preview="p", prompt_chars=1,
                   timeout_s=60, created_at=now, server_pid=os.getpid())
    running = job("{RUNNING_ID}")
    await store.create(running, "p")
    agent = subprocess.Popen(["sh", "-c", "sleep 1000 & exec sleep 1001"], start_new_session=True,
                             env={{**os.environ, **task_environment(running.id, str(root))}})
    running.start(agent.pid, now)
    await store.save(running)
    await store.create(job("{QUEUED_ID}"), "q")
    if sys.argv[2] == "crash-unrecorded":
        agent = subprocess.Popen(["sleep", "1002"], start_new_session=True,
                                 env={{**os.environ, **task_environment("{QUEUED_ID}", str(root))}})
    print(agent.pid, flush=True)
    if sys.argv[2].startswith("crash"):
        os._exit(0)
    sys.stdin.read()

asyncio.run(main())
"""


def other_server(project: Path, mode: str, *active_dir: Path) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", OTHER_SERVER, str(project), mode, *map(str, active_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    agent_pid = int(proc.stdout.readline())
    return proc, agent_pid


def record(project: Path, job_id: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((project / ".cde" / "tasks" / job_id / "job.json").read_text())
    return data


async def test_startup_marks_a_dead_servers_jobs_interrupted_and_kills_its_agent(
    settings: Settings, project: Path
) -> None:
    proc, agent_pid = other_server(project, "crash")
    proc.wait()
    assert record(project, RUNNING_ID)["status"] == "running"
    await eventually(lambda: asyncio.to_thread(lambda: len(live_members(agent_pid)) == 2))
    os.kill(agent_pid, signal.SIGKILL)  # the agent itself is gone too; its child still runs in the group
    await eventually(lambda: asyncio.to_thread(lambda: len(live_members(agent_pid)) == 1))
    delegation = build_delegation(settings)
    await delegation.start()
    try:

        async def recovered() -> bool:
            return record(project, RUNNING_ID)["status"] == record(project, QUEUED_ID)["status"] == "interrupted"

        await eventually(recovered)  # the startup scan of the default project, no tool call needed
        await eventually(lambda: asyncio.to_thread(gone, agent_pid))
        listing = await delegation.list_tasks(project, include_finished=True)
    finally:
        await delegation.stop()
    assert [t.status for t in listing.tasks] == ["interrupted", "interrupted"]
    running = record(project, RUNNING_ID)
    assert "stopped; its agent was still running and was killed" in str(running["error"])
    assert running["finished_at"] is not None


async def test_an_agent_started_but_not_yet_recorded_is_found_by_its_task_id(settings: Settings, project: Path) -> None:
    proc, agent_pid = other_server(project, "crash-unrecorded")
    proc.wait()
    assert record(project, QUEUED_ID)["status"] == "queued" and record(project, QUEUED_ID)["pgid"] is None
    delegation = build_delegation(settings)
    await delegation.start()
    try:
        await eventually(lambda: asyncio.to_thread(gone, agent_pid))

        async def recorded() -> bool:  # the kill comes first, the record right after: wait for both
            return "stopped; its agent was still running and was killed" in str(record(project, QUEUED_ID)["error"])

        await eventually(recorded)
    finally:
        await delegation.stop()
    assert record(project, QUEUED_ID)["status"] == "interrupted"
    # The recorded agent of the other task is killed by the same scan, which a stop lets finish.
    assert record(project, RUNNING_ID)["status"] == "interrupted"
    running_pid = record(project, RUNNING_ID)["pgid"]
    assert isinstance(running_pid, int)
    await eventually(lambda: asyncio.to_thread(gone, running_pid))


async def test_a_live_servers_jobs_are_left_alone_until_it_dies(settings: Settings, project: Path) -> None:
    proc, agent_pid = other_server(project, "hold")
    delegation = build_delegation(settings)
    try:
        listing = await delegation.list_tasks(project)
        assert sorted(t.status for t in listing.tasks) == ["queued", "running"]
        with pytest.raises(ConflictError, match="run by another cde-orchestrator process"):
            await delegation.cancel_task(RUNNING_ID)
        assert not gone(agent_pid)
        proc.kill()
        proc.wait()
        listing = await delegation.list_tasks(project, include_finished=True)
    finally:
        await delegation.stop()
        if proc.stdin is not None:
            proc.stdin.close()
    assert [t.status for t in listing.tasks] == ["interrupted", "interrupted"]
    await eventually(lambda: asyncio.to_thread(gone, agent_pid))


async def test_a_copy_of_a_project_never_kills_the_agent_its_original_runs(
    settings: Settings, project: Path, tmp_path: Path
) -> None:
    """`cp -r` of a project while a task ran: the copy's records have free leases (other files), and its
    server killed the original's agent, found by task id alone; the live session's task then failed. Its
    active markers (by task id, under the CDE home) must stay too, or a later crash of the original's
    server would leave that agent running."""
    markers = settings.home / "running"
    proc, agent_pid = other_server(project, "hold", markers)
    copy = tmp_path / "copy-of-project"
    try:
        shutil.copytree(project, copy)
        delegation = build_delegation(settings)
        try:
            listing = await delegation.list_tasks(copy, include_finished=True)
        finally:
            await delegation.stop()
        assert not gone(agent_pid)  # the original's agent runs on
        assert record(project, RUNNING_ID)["status"] == "running"
        assert [t.status for t in listing.tasks] == ["interrupted", "interrupted"]  # nothing runs in the copy
        assert f"copied here from {project}, where the task is" in str(record(copy, RUNNING_ID)["error"])
        assert sorted(p.name for p in markers.iterdir()) == [RUNNING_ID, QUEUED_ID]
    finally:
        proc.kill()
        proc.wait()
        if proc.stdin is not None:
            proc.stdin.close()
        os.killpg(agent_pid, signal.SIGKILL)


async def test_active_markers_are_kept_while_their_server_lives_and_dropped_once_settled(
    settings: Settings, project: Path
) -> None:
    markers = settings.home / "running"
    proc, agent_pid = other_server(project, "hold", markers)
    stale = markers / "20240101-000000-cccccc"  # a task nobody knows any more
    stale.touch()
    try:
        first = build_delegation(settings)
        await first.start()
        await eventually(lambda: asyncio.to_thread(lambda: not stale.exists()))
        await first.stop()
        assert sorted(p.name for p in markers.iterdir()) == [RUNNING_ID, QUEUED_ID]  # their server lives
        proc.kill()
        proc.wait()
        second = build_delegation(settings)
        await second.start()
        try:
            await eventually(lambda: asyncio.to_thread(lambda: not any(markers.iterdir())))
        finally:
            await second.stop()
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
    assert record(project, RUNNING_ID)["status"] == record(project, QUEUED_ID)["status"] == "interrupted"
    await eventually(lambda: asyncio.to_thread(gone, agent_pid))


async def test_the_start_up_scan_applies_the_retention_to_the_default_project(
    settings: Settings, project: Path
) -> None:
    proc, agent_pid = other_server(project, "crash")  # leaves two jobs that the scan marks interrupted
    proc.wait()
    delegation = build_delegation(settings.model_copy(update={"job_keep": 1}))
    await delegation.start()
    try:

        def left() -> list[str]:
            return sorted(p.name for p in (project / ".cde/tasks").iterdir() if p.name != ".gitignore")

        async def pruned() -> bool:
            return len(left()) == 1

        await eventually(pruned)  # both interrupted (finished) by the scan, then the older one deleted
        await eventually(lambda: asyncio.to_thread(gone, agent_pid))
    finally:
        await delegation.stop()
    assert record(project, left()[0])["status"] == "interrupted"


async def test_a_failing_prune_neither_stops_the_recovery_nor_the_shutdown(
    settings: Settings, project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    proc, agent_pid = other_server(project, "crash")
    proc.wait()
    delegation = build_delegation(settings)

    async def broken(store: object) -> list[str]:
        raise OverflowError("date value out of range")

    delegation.prune_jobs = broken  # type: ignore[assignment]
    await delegation.start()
    try:

        async def recovered() -> bool:
            return record(project, RUNNING_ID)["status"] == "interrupted"

        await eventually(recovered)
        await eventually(lambda: asyncio.to_thread(gone, agent_pid))
    finally:
        await delegation.stop()
    assert "could not prune the finished tasks" in caplog.text


def test_a_reader_meeting_a_recovery_in_progress_waits_for_its_outcome(tmp_path: Path) -> None:
    """Right after a restart, the start-up recovery may hold a dead server's task: a reader must not answer
    the stale `running` record meanwhile, but the interrupted one the recovery writes."""
    job_dir = tmp_path / ".cde" / "tasks" / RUNNING_ID
    job_dir.mkdir(parents=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    job = Job(
        id=RUNNING_ID, agent="hang", project=str(tmp_path), prompt_preview="p", prompt_chars=1,
        timeout_s=60, created_at=utc_now(), server_pid=dead.pid,
    )  # fmt: skip
    job.start(dead.pid, utc_now())
    (job_dir / "job.json").write_text(job.model_dump_json(), encoding="utf-8")
    fd = os.open(job_dir / "lease", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)  # the recovery in progress...
    try:
        holder_done = threading.Event()

        def finish() -> None:
            time.sleep(0.3)
            job.finish(JobStatus.INTERRUPTED, utc_now(), error="the server that ran it stopped")
            (job_dir / "job.json").write_text(job.model_dump_json(), encoding="utf-8")
            os.close(fd)  # ...ends: the lease is free
            holder_done.set()

        threading.Thread(target=finish).start()
        seen = recover_sync(job_dir, utc_now())
    finally:
        holder_done.wait(5)
    assert seen is not None and seen.status == JobStatus.INTERRUPTED


@pytest.mark.parametrize("pgid", [-25238, 0, 1, 99_999_999_999])
async def test_a_record_with_an_impossible_process_group_is_corrupt_not_a_crash(project: Path, pgid: int) -> None:
    store = FsJobStore(project)
    job = Job(id=RUNNING_ID, agent="hang", project=str(project), prompt_preview="p", prompt_chars=1,
              timeout_s=60, created_at=utc_now(), server_pid=os.getpid())  # fmt: skip
    await store.create(job, "p")
    path = project / ".cde" / "tasks" / RUNNING_ID / "job.json"
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "status": "running", "pgid": pgid, "server_pid": 999_999_999}))
    before = path.read_bytes()
    assert await store.jobs() == []  # skipped with a warning: the other tasks stay listable
    with pytest.raises(CorruptDataError, match="pgid"):
        await store.load(RUNNING_ID)
    assert path.read_bytes() == before


async def test_a_first_listing_reads_every_record_in_one_hop_then_only_what_changed(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = FsJobStore(project)
    now = utc_now()
    ids = [f"20250101-0000{i:02d}-cccccc" for i in range(12)]
    for job_id in ids:
        job = Job(id=job_id, agent="echo", project=str(project), prompt_preview="p", prompt_chars=1,
                  timeout_s=60, created_at=now, server_pid=os.getpid())  # fmt: skip
        await writer.create(job, "p")
        job.finish(JobStatus.CANCELLED, now)  # finished: listing them needs no lease check
        await writer.save(job)
    (project / ".cde" / "tasks" / ids[0] / "job.json").write_text("{not json")
    fs_job_store.read_record.clear()
    hops: list[int] = []
    real = fs_job_store._read_records

    async def counted(paths: list[Path]) -> list[tuple[Path, object, object]]:
        hops.append(len(paths))
        return await real(paths)

    monkeypatch.setattr(fs_job_store, "_read_records", counted)
    reader = FsJobStore(project)
    assert sorted(j.id for j in await reader.jobs()) == ids[1:]  # the corrupt one skipped, the others listed
    assert hops == [12]
    assert sorted(j.id for j in await reader.jobs()) == ids[1:]
    assert hops == [12, 1]  # only the corrupt record, never cached, is read again
    edited = project / ".cde" / "tasks" / ids[5] / "job.json"
    edited.write_text(json.dumps({**json.loads(edited.read_text()), "prompt_preview": "edited"}))
    listed = {j.id: j for j in await reader.jobs()}
    assert hops == [12, 1, 2] and listed[ids[5]].prompt_preview == "edited"
    # A directory in place of a record made the whole listing fail ("is a directory, expected a file").
    odd = project / ".cde" / "tasks" / ids[7] / "job.json"
    odd.unlink()
    odd.mkdir()
    assert sorted(j.id for j in await reader.jobs()) == sorted(set(ids[1:]) - {ids[7]})


def test_an_orphan_is_recognised_by_its_task_and_project_or_by_its_task_alone_if_older(tmp_path: Path) -> None:
    """Agents started before CDE_TASK_PROJECT existed have CDE_TASK_ID alone: after an upgrade they must still
    be killed as orphans; one that names another project (the original of a copy) never is."""
    started = {}
    for label, extra in (
        ("old", {}),
        ("other", {"CDE_TASK_PROJECT": "/elsewhere"}),
        ("ours", {"CDE_TASK_PROJECT": "/p"}),
    ):
        env = {**os.environ, "CDE_TASK_ID": f"20250101-000000-{label:a<6}"[:22], **extra}
        started[label] = subprocess.Popen(["sleep", "1000"], start_new_session=True, env=env)
    try:
        verdicts = {
            label: kill_orphaned_job(proc.pid, f"20250101-000000-{label:a<6}"[:22], "/p")
            for label, proc in started.items()
        }
        assert verdicts == {"old": True, "other": False, "ours": True}
        for label in ("old", "ours"):
            started[label].wait(timeout=5)
        assert started["other"].poll() is None
    finally:
        for proc in started.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
