"""Job records on disk: `<project>/.cde/tasks/<id>/{job.json,prompt.md,output.log,lease}`.

Records are replaced atomically. While a job is active its server holds an
exclusive `flock` on the job's `lease` file; the kernel drops it when that
process dies, however it dies. So any reader that finds an active record whose
lease it can take knows the owner is gone: it re-reads the record under the
lease and marks it `interrupted` (killing the orphaned agent if it still runs).
That check happens on every read of an active record, so a crashed server's jobs
never stay "running", whichever process looks first.

A store built with an `active_dir` (the CDE home's `running/`) also keeps an empty
marker file there, named by the task id, while a job is active: a server starting
after one was SIGKILLed finds every project whose jobs (and orphaned agents) need
recovery from that folder, not only its default project's.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from adapters.process_group import kill_orphaned_job
from domain.clock import utc_now
from domain.delegation.job import Job, JobStatus, validate_job_id
from domain.delegation.output import TAIL_BYTES, tail_lines
from domain.errors import (
    ConflictError,
    CorruptDataError,
    DomainError,
    NotFoundError,
    PermissionDeniedError,
    UnavailableError,
)
from infrastructure import files, paths
from infrastructure.cache import Fingerprint, cached, fingerprint

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: the server runs, delegation refuses with a clear error
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

TASKS_DIR = Path(".cde") / "tasks"
RECORD = "job.json"
PROMPT = "prompt.md"
LOG = "output.log"
LEASE = "lease"


def parse_job(path: Path, raw: object) -> Job:
    try:
        return Job.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "document"
        raise CorruptDataError(path, f"{where}: {first['msg']}") from None


def read_job_sync(path: Path) -> Job:
    """The record at `path` (`<tasks>/<id>/job.json`), never read through a link: a task folder or record
    linked out of the project (a crafted `.cde/tasks/`) would have its target read and reported."""
    _refuse_linked_folder(path.parent)
    return parse_job(path, files.parse_json(path, files.read_text_sync(path, follow_symlinks=False)))


def _refuse_linked_folder(folder: Path) -> None:
    if os.path.islink(folder):
        raise PermissionDeniedError(f"{folder} is a symlink; a task's folder must be a real folder of the project")


_read_job = files.in_thread(read_job_sync)


@cached("delegation.job_record", maxsize=1024, depends_on=lambda path: [path])
async def read_record(path: Path) -> Job:
    return await _read_job(path)


def _try_lease(path: Path) -> int | None:
    """An fd holding the exclusive lease, or None when another open file description holds it."""
    if fcntl is None:  # pragma: no cover - Windows
        raise UnavailableError("delegating tasks needs a POSIX system (process groups, signals, flock)")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def _unmark(marker: Path | None) -> None:
    if marker is not None:
        with contextlib.suppress(FileNotFoundError):
            marker.unlink()


RECOVERY_WAIT_S = 2.0  # how long a reader waits for another process's recovery of a task to finish
_NOT_RECOVERING: set[int] = set()  # server pids whose leases outlasted the wait: they run, unseen from here


def _server_alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _wait_for_lease(path: Path, job_dir: Path) -> int | None:
    """The lease once free, if its holder is recovering the task (its server is dead), else None.

    Right after a restart a reader can meet the start-up recovery holding the lease of a dead
    server's task: waiting for it, rather than answering the stale `running` record, reports the
    task as it is (interrupted).
    """
    try:
        job = read_job_sync(job_dir / RECORD)
    except DomainError:
        return None
    if job.server_pid in _NOT_RECOVERING or _server_alive(job.server_pid):
        return None  # its server runs it
    deadline = time.monotonic() + RECOVERY_WAIT_S
    while time.monotonic() < deadline:
        time.sleep(0.01)
        fd = _try_lease(path)
        if fd is not None:
            return fd
    # Held all along: a live server this process cannot see (another PID namespace, a container)
    # rather than a recovery. Its other tasks are not waited for again.
    _NOT_RECOVERING.add(job.server_pid)
    return None


def recover_sync(job_dir: Path, now: datetime, marker: Path | None = None) -> Job | None:
    """Mark the job interrupted if it is active and nobody holds its lease; the current record, or None
    when a live server holds the lease (the record read before stands)."""
    fd = _try_lease(job_dir / LEASE)
    if fd is None:
        fd = _wait_for_lease(job_dir / LEASE, job_dir)
    if fd is None:
        return None
    try:
        path = job_dir / RECORD
        job = read_job_sync(path)
        # A copy of a project carries its records: the task (its agent, its marker under the CDE home,
        # which is by id) is the original's, still there. A project moved keeps its tasks.
        here = os.fspath(job_dir.parents[len(TASKS_DIR.parts)])
        copied = job.project != here and os.path.exists(os.path.join(job.project, TASKS_DIR, job.id, RECORD))
        if not job.status.active:  # finished meanwhile (by its server, or by another's recovery)
            if not copied:
                _unmark(marker)
            return job
        if copied:
            why = f"this record was copied here from {job.project}, where the task is; it does not run here"
        else:  # `job.project`: where its agent was started, here or where this project was before a move
            killed = kill_orphaned_job(job.pgid, job.id, job.project)
            note = "; its agent was still running and was killed" if killed else ""
            why = f"the server that ran it (pid {job.server_pid}) stopped{note}"
        job.finish(JobStatus.INTERRUPTED, now, error=why)
        files.atomic_write_sync(path, job.model_dump_json(indent=2) + "\n")
        if not copied:
            _unmark(marker)
        logger.info("task %s marked interrupted (server pid %s is gone)", job.id, job.server_pid)
        return job
    finally:
        os.close(fd)


def save_sync(path: Path, job: Job, marker: Path | None) -> None:
    files.atomic_write_sync(path, job.model_dump_json(indent=2) + "\n")
    if not job.status.active:
        _unmark(marker)


def create_sync(job_dir: Path, job: Job, prompt: str, marker: Path | None = None) -> int:
    tasks = job_dir.parent
    try:
        files.make_dirs_sync(tasks)
        if tasks.resolve() != tasks:  # resolved inside the project when the store was made; a symlink since
            raise PermissionDeniedError(f"{tasks} now leads elsewhere through a symlink; remove the link and retry")
        ignore = tasks / ".gitignore"
        if not ignore.exists():  # task logs are local run output, never source
            files.atomic_write_sync(ignore, "*\n")
    except OSError as exc:  # e.g. a file named tasks in the way
        raise files.os_error(tasks, exc) from None
    try:
        job_dir.mkdir()
        files.fsync_dir(tasks)  # the record fsyncs its own entry; this makes the task's folder durable
    except FileExistsError:
        raise ConflictError(f"task {job.id} exists already; retry") from None
    except OSError as exc:
        raise files.os_error(job_dir, exc) from None
    files.atomic_write_sync(job_dir / PROMPT, prompt if prompt.endswith("\n") else prompt + "\n")
    fd = _try_lease(job_dir / LEASE)
    if fd is None:  # pragma: no cover - the directory was created just now by us
        raise ConflictError(f"task {job.id} is leased by another process; retry")
    try:
        if marker is not None:  # not durable: a power loss ends the agents too
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        files.atomic_write_sync(job_dir / RECORD, job.model_dump_json(indent=2) + "\n")
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_tail_sync(path: Path, count: int) -> list[str]:
    _refuse_linked_folder(path.parent)
    try:
        # A FIFO planted as a log is refused, not waited on; a link is not followed out of the project.
        fd, st = files.open_file_sync(path, follow_symlinks=False)
        with os.fdopen(fd, "rb") as handle:
            handle.seek(max(0, st.st_size - TAIL_BYTES))
            return tail_lines(handle.read(TAIL_BYTES), count)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise files.os_error(path, exc) from None


def list_ids_sync(tasks: Path, *, regular: bool = False) -> list[str]:
    """The task ids among the directories (or, with `regular`, the regular files) of `tasks`, newest first."""
    try:
        names = [e.name for e in os.scandir(tasks) if (e.is_file if regular else e.is_dir)(follow_symlinks=False)]
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise files.os_error(tasks, exc) from None
    ids = []
    for name in names:
        with contextlib.suppress(DomainError):
            ids.append(validate_job_id(name))
    return sorted(ids, reverse=True)


TRASH_PREFIX = ".trash-"  # not a valid task id: listings skip it


def prune_sync(tasks: Path, keep: int, finished_before: datetime) -> list[str]:
    """Delete finished jobs beyond the newest `keep` or finished before `finished_before`; their ids.

    Active jobs and unreadable records are left alone. A victim is renamed to a
    hidden name first (one atomic step: a reader finds the whole task or none),
    then removed; what a crash leaves half-removed is swept on the next run.
    """
    finished: list[tuple[datetime, Job]] = []
    for job_id in list_ids_sync(tasks):
        path = tasks / job_id / RECORD
        try:
            job = read_job_sync(path)
        except DomainError:  # being created, or corrupt (or linked): kept for a human to look at
            continue
        if not job.status.active and job.finished_at is not None:
            at = job.finished_at  # a hand-edited time without a zone is taken as UTC, like the ones we write
            finished.append((at if at.tzinfo is not None else at.replace(tzinfo=UTC), job))
    finished.sort(key=lambda item: (item[0], item[1].id), reverse=True)
    removed = []
    for rank, (at, job) in enumerate(finished):
        if rank < keep and at >= finished_before:
            continue
        trash = tasks / f"{TRASH_PREFIX}{job.id}-{os.getpid()}"
        try:
            os.rename(tasks / job.id, trash)
        except OSError:  # removed meanwhile by another server's prune
            continue
        removed.append(job.id)
    with contextlib.suppress(OSError):
        for entry in os.scandir(tasks):
            if entry.name.startswith(TRASH_PREFIX) and entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
    return removed


def read_records_sync(paths: list[Path]) -> list[tuple[Path, Fingerprint, Job | DomainError]]:
    """Each record with the fingerprint taken before reading it (so a write meanwhile shows), or its error."""
    found: list[tuple[Path, Fingerprint, Job | DomainError]] = []
    for path in paths:
        before = fingerprint(path)
        try:
            found.append((path, before, read_job_sync(path)))
        except DomainError as exc:
            found.append((path, before, exc))
    return found


_create = files.in_thread(create_sync)
_save = files.in_thread(save_sync)
_recover = files.in_thread(recover_sync)
_read_tail = files.in_thread(read_tail_sync)
_list_ids = files.in_thread(list_ids_sync)
_read_records = files.in_thread(read_records_sync)
_prune = files.in_thread(prune_sync)
_unmark_async = files.in_thread(_unmark)


class FsJobStore:
    """The JobStore port for one project root."""

    def __init__(
        self,
        root: Path,
        *,
        clock: Callable[[], datetime] = utc_now,
        active_dir: Path | None = None,
        tasks: Path | None = None,
    ) -> None:
        self.root = root
        self.tasks = tasks or root / TASKS_DIR
        self._clock = clock
        self._active_dir = active_dir
        self._leases: dict[str, int] = {}

    def job_dir(self, job_id: str) -> Path:
        return self.tasks / validate_job_id(job_id)

    def prompt_file(self, job_id: str) -> Path:
        return self.job_dir(job_id) / PROMPT

    def log_file(self, job_id: str) -> Path:
        return self.job_dir(job_id) / LOG

    def record_file(self, job_id: str) -> Path:
        return self.job_dir(job_id) / RECORD

    def marker(self, job_id: str) -> Path | None:
        return None if self._active_dir is None else self._active_dir / validate_job_id(job_id)

    async def create(self, job: Job, prompt: str) -> None:
        self._leases[job.id] = await _create(self.job_dir(job.id), job, prompt, self.marker(job.id))
        read_record.invalidate(self.record_file(job.id))

    async def save(self, job: Job) -> None:
        path = self.record_file(job.id)
        try:
            await _save(path, job, self.marker(job.id))
        finally:
            read_record.invalidate(path)
            if not job.status.active:
                self.release(job.id)

    def release(self, job_id: str) -> None:
        fd = self._leases.pop(job_id, None)
        if fd is not None:
            os.close(fd)

    def release_all(self) -> None:
        for job_id in list(self._leases):
            self.release(job_id)

    async def load(self, job_id: str) -> Job:
        path = self.record_file(job_id)
        try:
            job = await read_record(path)
        except NotFoundError:
            raise NotFoundError(
                f"task {job_id} has no record in {self.tasks}; list tasks with cde_listActiveTasks"
            ) from None
        return await self._checked(job)

    async def _checked(self, job: Job) -> Job:
        if not job.status.active or job.id in self._leases:
            return job
        recovered = await _recover(self.job_dir(job.id), self._clock(), self.marker(job.id))
        if recovered is None:
            return job
        read_record.invalidate(self.record_file(job.id))
        return recovered

    async def jobs(self) -> list[Job]:
        records: list[Job] = []
        missing: list[Path] = []
        for job_id in await _list_ids(self.tasks):
            path = self.record_file(job_id)
            cached_job = read_record.cache.current(path)
            if cached_job is None:
                missing.append(path)
            else:
                records.append(cached_job)
        # The records not cached yet (a first listing: every one) are read in one thread hop, not one each.
        for path, before, outcome in await _read_records(missing) if missing else []:
            if isinstance(outcome, Job):
                read_record.cache.prime(outcome, [(str(path), before)], path)
                records.append(outcome)
            elif not isinstance(outcome, NotFoundError):  # not found: a directory being created, or a stray one
                # One unreadable record (corrupt, a directory in its place...) must not hide every other task;
                # cde_getTaskStatus on it gives the error.
                logger.warning("skipping task %s: %s", path.parent.name, outcome.message)
        found = [await self._checked(job) for job in records]
        # Ids sort by the second only (their suffix is random): the creation time orders tasks of one second.
        found.sort(key=lambda job: (job.created_at.timestamp(), job.id), reverse=True)  # naive dates too
        return found

    async def tail(self, job_id: str, lines: int) -> list[str]:
        return await _read_tail(self.log_file(job_id), lines)

    async def prune(self, keep: int, finished_before: datetime) -> list[str]:
        removed = await _prune(self.tasks, keep, finished_before)
        for job_id in removed:
            read_record.invalidate(self.record_file(job_id))
        return removed


class FsJobStores:
    """The JobStores port: one FsJobStore per project root, reused for the life of the process."""

    def __init__(self, *, clock: Callable[[], datetime] = utc_now, active_dir: Path | None = None) -> None:
        self._clock = clock
        self._active_dir = active_dir
        self._stores: dict[Path, FsJobStore] = {}

    async def for_project(self, root: Path) -> FsJobStore:
        """PermissionDeniedError when the project's `.cde/tasks` leads outside it through a symlink."""
        store = self._stores.get(root)
        if store is None:
            tasks = await paths.resolve_inside(root, str(TASKS_DIR), what="the tasks folder")
            store = FsJobStore(root, clock=self._clock, active_dir=self._active_dir, tasks=tasks)
            self._stores[root] = store
        return store

    async def marked_active(self) -> list[str]:
        """Ids of the jobs marked active in `active_dir` (by this process or by any other, alive or dead)."""
        return [] if self._active_dir is None else await _list_ids(self._active_dir, regular=True)

    async def unmark(self, job_id: str) -> None:
        """Drop a marker whose job turned out finished or unknown."""
        if self._active_dir is not None:
            await _unmark_async(self._active_dir / validate_job_id(job_id))

    def release_all(self) -> None:
        for store in self._stores.values():
            store.release_all()
