"""GetTaskStatus: a task's record and the tail of its output, found by task id alone.

A job of this server process is answered from the runner's memory (fresh status,
in-memory tail). Any other id is looked up in the task index to find its project,
then read from that project's `.cde/tasks/` (which marks it interrupted first if
the server that ran it died).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from domain.clock import utc_now
from domain.delegation.job import Job, validate_job_id
from domain.delegation.ports import JobRunner, JobStore, JobStores, TaskLocator
from domain.delegation.views import TaskView
from domain.errors import DomainError, NotFoundError


async def find_job(job_id: str, runner: JobRunner, locator: TaskLocator, stores: JobStores) -> tuple[Job, JobStore]:
    """The freshest record of `job_id` and its project's store (NotFoundError when unknown)."""
    validate_job_id(job_id)
    live = runner.live(job_id)
    root = Path(live.project) if live is not None else await locator.locate(job_id)
    store = await stores.for_project(root)
    if live is not None:
        return live, store
    try:
        return await store.load(job_id), store
    except NotFoundError:
        with contextlib.suppress(DomainError):  # a pointer left by a prune that was interrupted: drop it
            await locator.forget([job_id], root)
        raise


class GetTaskStatus:
    def __init__(
        self,
        runner: JobRunner,
        locator: TaskLocator,
        stores: JobStores,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._runner = runner
        self._locator = locator
        self._stores = stores
        self._clock = clock

    async def __call__(self, task_id: str, tail_lines: int = 20) -> TaskView:
        job, store = await find_job(task_id, self._runner, self._locator, self._stores)
        tail = self._runner.tail(job.id, tail_lines)
        if tail is None:
            tail = await store.tail(job.id, tail_lines)
        return TaskView.of(job, str(store.log_file(job.id)), tail, self._clock())
