"""Signals to whole jobs: every job runs in its own session, so its pgid and session id are its pid.

Killing the group (not just the agent) also stops what the agent spawned: test
runners, dev servers, language servers. Zombies are not "alive" here: a process
reparented to an init that does not reap (some containers) would otherwise look
like it survived.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

_PROC = Path("/proc")
logger = logging.getLogger(__name__)


def signal_group(pgid: int, sig: int) -> bool:
    """Send `sig` to every process of the group; False when the group is gone."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - only if the group was reused by another user
        return False
    except (OSError, OverflowError):  # not a process group id at all (records are validated; belt and braces)
        logger.warning("cannot signal process group %r", pgid)
        return False
    return True


def job_processes(sid: int) -> dict[int, int]:
    """The live processes of the job whose agent has pid `sid`, as {pid: process group} (Linux /proc).

    The agent leads its own session, so its session id is its pid. Every process of that
    session is the job's, including those the agent moved to a group of their own
    (`setpgid`), which signalling its group alone would miss. Elsewhere: {sid: sid} while
    the group exists.
    """
    return _sessions_members({sid}).get(sid, {})


def _sessions_members(sids: set[int]) -> dict[int, dict[int, int]]:
    """`job_processes` for many jobs in one pass over /proc: {sid: {pid: process group}}."""
    if not _PROC.is_dir():  # pragma: no cover - non-Linux fallback
        return {sid: {sid: sid} for sid in sids if signal_group(sid, 0)}
    found: dict[int, dict[int, int]] = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp session ..." - comm may contain spaces and parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 3 and fields[0] not in ("Z", "X"):
            group, session = int(fields[2]), int(fields[3])
            for sid in {group, session} & sids:
                found.setdefault(sid, {})[int(entry.name)] = group
    return found


def _signal_jobs(sids: set[int], sig: int) -> set[int]:
    """`signal_job` for many jobs, with one pass over /proc; the jobs that had processes left."""
    members = _sessions_members(sids)
    alive = set()
    for sid in sids:
        groups = {sid, *members.get(sid, {}).values()}
        if any([signal_group(group, sig) for group in sorted(groups)]):  # a list: every group is signalled
            alive.add(sid)
    return alive


def stop_jobs(pgids: list[int], grace: float, *, poll: float = 0.05) -> None:
    """`stop_group` for many jobs at once (a server shutting down): SIGTERM to all, one pass over /proc per
    poll for all of them, SIGKILL to what is left after `grace`. Stopping them one by one cost a pass over
    /proc per job per poll: with 64 agents, seconds, past what a client waits before killing the server."""
    pending = _signal_jobs(set(pgids), signal.SIGTERM)
    deadline = time.monotonic() + grace
    while pending and time.monotonic() < deadline:
        time.sleep(poll)
        members = _sessions_members(pending)
        pending = {sid for sid in pending if members.get(sid)}
    if pending:
        _signal_jobs(pending, signal.SIGKILL)


def live_members(pgid: int) -> list[int]:
    """Pids of the job whose agent has pid `pgid` that are not zombies (see `job_processes`)."""
    return list(job_processes(pgid))


def signal_job(pgid: int, sig: int) -> bool:
    """Send `sig` to the job's process group and to every other group of its session; False when none is left."""
    return bool(_signal_jobs({pgid}, sig))


async def wait_group_gone(pgid: int, within: float, *, poll: float = 0.05) -> bool:
    """Wait until no live process remains in the group; False on timeout."""
    deadline = time.monotonic() + within
    while True:
        if not await asyncio.to_thread(live_members, pgid):
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(poll)


async def stop_group(pgid: int, grace: float) -> None:
    """SIGTERM the job (its group and the rest of its session), then SIGKILL what is alive after `grace` s."""
    if not await asyncio.to_thread(signal_job, pgid, signal.SIGTERM):
        return
    if not await wait_group_gone(pgid, grace):
        await asyncio.to_thread(signal_job, pgid, signal.SIGKILL)
        await wait_group_gone(pgid, 1.0)


def task_environment(task_id: str, project: str) -> dict[str, str]:
    """What an agent's environment says about the task it runs (its children inherit it)."""
    return {"CDE_TASK_ID": task_id, "CDE_TASK_PROJECT": project}


def kill_orphaned_job(pgid: int | None, task_id: str, project: str) -> bool:
    """SIGKILL the group of a job whose server died, if a process in it still runs that job.

    A member is recognised by its environment (`task_environment`): the task id, so a
    recycled pid of an unrelated process is never signalled, and the project, so a
    copy of a project (its records copied along, their leases free) never kills the
    agent the original's live server runs. An agent started by a version that did not
    set the project has the id alone. With no pgid (the server died between starting
    the agent and recording it) every process is looked at. Linux only.
    """
    marker = f"CDE_TASK_ID={task_id}".encode()
    same_project = f"CDE_TASK_PROJECT={project}".encode()
    candidates = live_members(pgid) if pgid is not None else _all_pids()
    for pid in candidates:
        try:
            environ = (_PROC / str(pid) / "environ").read_bytes()
            group = pgid if pgid is not None else os.getsid(pid)  # the agent's session: the whole job
        except OSError:
            continue
        entries = environ.split(b"\0")
        if marker not in entries:
            continue
        named = [e for e in entries if e.startswith(b"CDE_TASK_PROJECT=")]
        if not named or same_project in named:
            return signal_job(group, signal.SIGKILL)
    return False


def _all_pids() -> list[int]:
    if not _PROC.is_dir():  # pragma: no cover - non-Linux
        return []
    return [int(entry.name) for entry in _PROC.iterdir() if entry.name.isdigit() and int(entry.name) != os.getpid()]


# Process groups of short-lived helpers (git queries, agent version probes) running right now, in this
# process. Their callers kill them on timeout or cancellation; `cde-orchestrator serve` stopping on a
# signal exits without unwinding those calls, so it kills what is left here (`kill_helpers`), or they
# would outlive it. (Per process, not per server: only the serving CLI, one server, calls it.)
_HELPERS: set[int] = set()


@contextlib.contextmanager
def helper_group(pgid: int) -> Iterator[None]:
    """Track `pgid` (a helper started with start_new_session=True) while the block runs."""
    _HELPERS.add(pgid)
    try:
        yield
    finally:
        _HELPERS.discard(pgid)


def kill_helpers() -> int:
    """SIGKILL every tracked helper group still running; how many were."""
    killed = sum(signal_group(pgid, signal.SIGKILL) for pgid in list(_HELPERS))
    _HELPERS.clear()
    return killed
