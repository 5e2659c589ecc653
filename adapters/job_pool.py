"""The supervised worker pool: runs jobs as subprocesses, at most `max_jobs` at a time.

Queued jobs wait in a FIFO; when a slot frees, an asyncio task starts the agent
in its own session (so its pid is its process group id) from a worker thread
(`agent_process`), hands its stdout+stderr pipe to the output pump thread
(chunks into `output.log` and an in-memory tail), and ends the job one way:

* the agent exits by itself → `succeeded` (exit 0) or `failed`;
* the timeout passes → `timed_out`; a cancel request → `cancelled`; the server
  stops → `interrupted`. All three stop the whole process group: SIGTERM, then
  SIGKILL to whatever is left of it after `kill_grace` seconds.

Processes the agent left behind in its group are stopped the same way when the
agent exits, so nothing a job started outlives it. A job never started before a
cancel (still queued) is simply dropped from the queue.

On shutdown every job is stopped the same way but with at most `shutdown_grace`
(1 s) before SIGKILL, and its record saved: an MCP client SIGTERMs a server 2 s
after closing its stdin and SIGKILLs it 2 s later (the official SDK), and a killed
server can no longer escalate. If the process dies abruptly instead, an `atexit`
hook and a SIGTERM handler (installed only when SIGTERM had its default action;
`cde-orchestrator serve` handles SIGTERM itself and shuts down) SIGKILL every
running group, and the next reader marks the records interrupted.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import contextlib
import logging
import os
import signal
import subprocess
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any, Literal

from adapters.agent_process import exit_future, popen_sync
from adapters.output_pump import LOG_LIMIT, OutputPump, OutputStream
from adapters.process_group import live_members, signal_job, stop_group, stop_jobs, task_environment
from domain.clock import utc_now
from domain.delegation.job import Job, JobStatus
from domain.delegation.launch import LaunchPlan
from domain.delegation.ports import JobStore, RunnerStats
from domain.errors import LimitExceededError, UnavailableError

logger = logging.getLogger(__name__)

# After the agent exits, how long its output pipe may stay open (held by a process outside its group).
DRAIN_TIMEOUT = 2.0
# On server shutdown, SIGKILL follows SIGTERM after at most this long, whatever the kill grace is.
SHUTDOWN_GRACE = 1.0

_STOP_MESSAGES = {
    JobStatus.CANCELLED: "cancelled on request",
    JobStatus.INTERRUPTED: "the server stopped while the task was active",
}

Phase = Literal["queued", "starting", "running", "stopping", "done"]


@dataclass(eq=False)
class _Entry:
    job: Job
    plan: LaunchPlan
    store: JobStore
    output: OutputStream | None = None
    phase: Phase = "queued"
    task: asyncio.Task[None] | None = None
    pgid: int | None = None
    stop_reason: JobStatus | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)


class WorkerPool:
    """The JobRunner port: a bounded queue in front of `max_jobs` concurrent agent processes."""

    def __init__(
        self,
        *,
        max_jobs: int,
        queue_limit: int,
        kill_grace: float,
        pump: OutputPump | None = None,
        clock: Callable[[], datetime] = utc_now,
        keep_finished: int = 64,
        drain_timeout: float = DRAIN_TIMEOUT,
        shutdown_grace: float = SHUTDOWN_GRACE,
        log_limit: int = LOG_LIMIT,
        after_finish: Callable[[JobStore], Awaitable[list[str]]] | None = None,
    ) -> None:
        self.max_jobs = max_jobs
        self.queue_limit = queue_limit
        self.kill_grace = kill_grace
        self.shutdown_grace = shutdown_grace
        self.log_limit = log_limit
        self._pump = pump or OutputPump()
        self._clock = clock
        self._keep_finished = keep_finished
        self.drain_timeout = drain_timeout
        self._waiting: collections.deque[_Entry] = collections.deque()
        self._running = 0
        self._entries: dict[str, _Entry] = {}
        self._finished: collections.deque[str] = collections.deque()
        self._counts: collections.Counter[str] = collections.Counter()
        self._durations = (0.0, 0)
        self._closing = False
        self._signal_installed = False
        # `after_finish` (pruning old records: it returns the ids deleted, which are forgotten here too)
        # runs once per project at a time; jobs of that project ending meanwhile fold into one more run.
        self._after_finish = after_finish
        self._tidy_locks: dict[Path, asyncio.Lock] = {}
        self._tidy_queued: set[Path] = set()
        self._tidy_tasks: set[asyncio.Task[None]] = set()
        # During a shutdown: the running jobs' groups, and the sweep stopping all of them (see `shutdown`).
        self._stopping: tuple[set[int], asyncio.Future[None]] | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Arm the last-resort cleanups (atexit, SIGTERM) that kill running groups if the process dies."""
        self._closing = False
        self._stopping = None
        atexit.register(self.kill_all_now)
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) in (
            signal.SIG_DFL,
            None,
        ):
            signal.signal(signal.SIGTERM, self._on_sigterm)
            self._signal_installed = True

    async def shutdown(self) -> None:
        """Stop every job (queued ones are dropped, running ones signalled) and wait for their records."""
        self._closing = True
        active = [e for e in self._entries.values() if e.phase != "done"]
        # Running agents first, and all at once: a client kills a server that has not exited 4 s after closing
        # its stdin, and agents (in sessions of their own) would outlive it. One sweep stops every group
        # (SIGTERM, SIGKILL after the grace), which each job's task waits for before recording its job;
        # queued ones are recorded together, not one durable write after another before any is signalled.
        started = [e for e in active if e.phase != "queued"]
        pgids = [e.pgid for e in started if e.pgid is not None]
        if pgids:
            self._stopping = (set(pgids), asyncio.ensure_future(asyncio.to_thread(stop_jobs, pgids, self._grace())))
        for entry in started:
            await self._request_stop(entry, JobStatus.INTERRUPTED)
        queued = [e for e in active if e.phase == "queued"]
        await asyncio.gather(*(self._request_stop(e, JobStatus.INTERRUPTED) for e in queued))
        tasks = [e.task for e in active if e.task is not None]
        if tasks:
            _, slow = await asyncio.wait(tasks, timeout=self.shutdown_grace)
            if slow:  # e.g. a cancel that began before the shutdown, with the full kill grace
                self.kill_all_now()
                await asyncio.gather(*slow, return_exceptions=True)
        for tidying in list(self._tidy_tasks):  # a deletion in a worker thread finishes anyway; the rest waits
            tidying.cancel()
        await asyncio.gather(*self._tidy_tasks, return_exceptions=True)
        await self._pump.stop()
        atexit.unregister(self.kill_all_now)
        if self._signal_installed and signal.getsignal(signal.SIGTERM) == self._on_sigterm:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        self._signal_installed = False

    def _in_sweep(self, pgid: int) -> bool:
        return self._stopping is not None and pgid in self._stopping[0]

    async def _stop_group(self, pgid: int) -> None:
        """Stop a job's process group; in a shutdown, by the one sweep that stops every running job."""
        if self._stopping is not None and self._in_sweep(pgid):
            await asyncio.shield(self._stopping[1])
        else:
            await stop_group(pgid, self._grace())

    def kill_all_now(self) -> None:
        """SIGKILL every running job's process group, synchronously (for atexit and signal handlers)."""
        for entry in list(self._entries.values()):
            if entry.pgid is not None and entry.phase != "done":
                signal_job(entry.pgid, signal.SIGKILL)

    def _grace(self) -> float:
        """Seconds between SIGTERM and SIGKILL for a stop starting now."""
        return min(self.kill_grace, self.shutdown_grace) if self._closing else self.kill_grace

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        self.kill_all_now()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    # -- the JobRunner port -------------------------------------------------------------------------

    async def submit(self, job: Job, plan: LaunchPlan, store: JobStore) -> None:
        problem = None
        if self._closing:
            problem = "the server is shutting down; delegate again after it restarts"
        elif len(self._waiting) >= self.queue_limit and self._running >= self.max_jobs:
            problem = (
                f"the worker queue is full ({self.max_jobs} running, {self.queue_limit} queued); "
                "retry later, cancel a task, or raise CDE_JOB_QUEUE"
            )
        if problem is not None:
            job.finish(JobStatus.FAILED, self._clock(), error=problem)
            await store.save(job)
            # Its record stays (listed as failed): name it, or the caller meets a task it never heard of.
            raise (UnavailableError if self._closing else LimitExceededError)(f"{problem} (task {job.id}, not run)")
        entry = _Entry(job=job, plan=plan, store=store)
        self._entries[job.id] = entry
        self._waiting.append(entry)
        self._start_waiting()

    def live(self, job_id: str) -> Job | None:
        entry = self._entries.get(job_id)
        return entry.job if entry is not None else None

    def tail(self, job_id: str, lines: int) -> list[str] | None:
        entry = self._entries.get(job_id)
        if entry is None:
            return None
        return entry.output.lines(lines) if entry.output is not None else []

    async def cancel(self, job_id: str) -> Job | None:
        entry = self._entries.get(job_id)
        if entry is None:
            return None
        await self._request_stop(entry, JobStatus.CANCELLED)
        await asyncio.shield(entry.done.wait())
        return entry.job

    def stats(self) -> RunnerStats:
        total, count = self._durations
        return RunnerStats(
            max_jobs=self.max_jobs,
            queue_limit=self.queue_limit,
            running=self._running,
            queued=len(self._waiting),
            finished=dict(sorted(self._counts.items())),
            mean_duration_s=round(total / count, 3) if count else None,
        )

    # -- internals -------------------------------------------------------------------------------

    async def _request_stop(self, entry: _Entry, reason: JobStatus) -> None:
        if entry.phase == "done":
            return
        if entry.stop_reason is None:
            entry.stop_reason = reason
        if entry.phase == "queued":  # still waiting for a slot: nothing was started
            self._waiting.remove(entry)
            entry.phase = "stopping"
            await self._finish(entry, entry.stop_reason, None, started=False)
            if not self._closing:
                self._tidy(entry.store)
        else:
            entry.stop.set()

    def _start_waiting(self) -> None:
        """Move queued entries into free slots, oldest first."""
        while self._waiting and self._running < self.max_jobs:
            entry = self._waiting.popleft()
            self._running += 1
            entry.phase = "starting"
            entry.task = asyncio.get_running_loop().create_task(self._run(entry), name=f"cde-job-{entry.job.id}")

    async def _run(self, entry: _Entry) -> None:
        try:
            await self._execute(entry)
        except Exception as exc:
            logger.exception("task %s crashed in the worker pool", entry.job.id)
            if entry.pgid is not None:
                signal_job(entry.pgid, signal.SIGKILL)
            if entry.job.status.active:
                await self._finish(entry, JobStatus.FAILED, None, error=f"internal error: {type(exc).__name__}")
        finally:
            if entry.phase != "done":  # cancelled, e.g. by the teardown of an event loop that ended
                if entry.pgid is not None:  # marked done, atexit's kill_all_now would skip the group
                    signal_job(entry.pgid, signal.SIGKILL)
                self._mark_done(entry)
            self._running -= 1
            if not self._closing:
                self._start_waiting()
                self._tidy(entry.store)

    def _tidy(self, store: JobStore) -> None:
        """Run `after_finish` for the project of a job that ended, in its own task (the slot is free)."""
        if self._after_finish is None or store.root in self._tidy_queued:
            return
        try:
            task = asyncio.get_running_loop().create_task(self._tidy_now(store), name=f"cde-tidy-{store.root.name}")
        except RuntimeError:  # the loop is going away (no shutdown() first): nothing to tidy with
            return
        self._tidy_queued.add(store.root)
        self._tidy_tasks.add(task)
        task.add_done_callback(self._tidy_tasks.discard)

    async def _tidy_now(self, store: JobStore) -> None:
        assert self._after_finish is not None
        async with self._tidy_locks.setdefault(store.root, asyncio.Lock()):
            self._tidy_queued.discard(store.root)
            try:
                deleted = await self._after_finish(store)
            except Exception:
                logger.warning("tidying the tasks of %s failed", store.root, exc_info=True)
                return
            for job_id in deleted:
                entry = self._entries.get(job_id)
                if entry is not None and entry.phase == "done":
                    del self._entries[job_id]

    async def _execute(self, entry: _Entry) -> None:
        job, plan = entry.job, entry.plan
        if entry.stop_reason is not None:  # stopped between getting the slot and starting
            await self._finish(entry, entry.stop_reason, None, started=False)
            return

        def spawn() -> tuple[subprocess.Popen[bytes], int, datetime]:
            # Timed where it happens: the event loop may be busy when this hop comes back.
            proc, output_fd = popen_sync(plan, {**os.environ, **task_environment(job.id, job.project)})
            return proc, output_fd, self._clock()

        try:
            proc, output_fd, started_at = await asyncio.to_thread(spawn)
        except OSError as exc:
            problem = f"cannot start {plan.argv[0]}: {exc.strerror or exc}"
            if exc.filename and exc.filename != plan.argv[0]:  # the working directory or the prompt file
                problem += f" ({exc.filename})"
            await self._finish(entry, JobStatus.FAILED, None, error=problem)
            return
        entry.pgid = proc.pid
        entry.output = self._pump.add(output_fd, entry.store.log_file(job.id), self.log_limit)
        exited = exit_future(proc)
        entry.phase = "running"
        job.start(proc.pid, started_at)
        await entry.store.save(job)
        stopper = asyncio.get_running_loop().create_task(entry.stop.wait())
        try:
            either: set[asyncio.Future[Any]] = {exited, stopper}
            await asyncio.wait(either, timeout=job.timeout_s, return_when=asyncio.FIRST_COMPLETED)
            if not exited.done():
                if entry.stop_reason is None:
                    entry.stop_reason = JobStatus.TIMED_OUT
                await self._stop_group(proc.pid)  # one grace for the agent and all it started
            returncode = await exited
            ended_at = self._clock()  # not after the output is drained: that is not the agent's run time
        finally:
            stopper.cancel()
        # What the agent left running in its group (in a shutdown, the sweep sees to every group).
        if self._in_sweep(proc.pid) or bool(await asyncio.to_thread(live_members, proc.pid)):
            await self._stop_group(proc.pid)
        entry.pgid = None  # the group is gone: its id may be reused, never signal it again
        drain = min(self.drain_timeout, self.shutdown_grace) if self._closing else self.drain_timeout
        try:
            await asyncio.wait_for(asyncio.shield(entry.output.done), drain)
        except TimeoutError:
            self._pump.drop(entry.output)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(entry.output.done), self.drain_timeout)
        error = entry.output.error
        if entry.stop_reason is not None:
            await self._finish(entry, entry.stop_reason, returncode, error=error, at=ended_at)
        else:
            final = job.model_copy()
            final.exited(returncode, ended_at)
            if error and final.error is None:
                final.error = error
            await self._commit(entry, final)

    async def _finish(
        self,
        entry: _Entry,
        status: JobStatus,
        returncode: int | None,
        error: str | None = None,
        *,
        started: bool = True,
        at: datetime | None = None,
    ) -> None:
        job = entry.job.model_copy()
        if status == JobStatus.TIMED_OUT:
            message = f"timed out after {job.timeout_s:g}s; the agent was stopped"
        elif status == JobStatus.INTERRUPTED and not started:
            message = "the server stopped before the task started"
        else:
            message = _STOP_MESSAGES.get(status, "")
        message = "; ".join(part for part in (message, error) if part)
        job.finish(status, at or self._clock(), exit_code=returncode, error=message or None)
        await self._commit(entry, job)

    async def _commit(self, entry: _Entry, final: Job) -> None:
        """Save the terminal record, then publish it: readers never see an outcome that is not on disk."""
        try:
            await entry.store.save(final)
        except Exception:
            logger.exception("could not save the final record of task %s", final.id)
        finally:
            entry.job = final
            self._mark_done(entry)

    def _mark_done(self, entry: _Entry) -> None:
        job = entry.job
        entry.phase = "done"
        self._counts[job.status.value] += 1
        ran = job.elapsed(self._clock())
        if ran is not None:
            total, count = self._durations
            self._durations = (total + ran, count + 1)
        entry.done.set()
        self._finished.append(job.id)
        while len(self._finished) > self._keep_finished:
            self._entries.pop(self._finished.popleft(), None)
