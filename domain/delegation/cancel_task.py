"""CancelTask: stop a queued or running task (SIGTERM to its process group, SIGKILL after a grace)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from domain.delegation.get_task_status import find_job
from domain.delegation.ports import JobRunner, JobStores, TaskLocator
from domain.delegation.views import TaskView
from domain.errors import ConflictError, InvalidTransitionError
from domain.project_state import utc_now


class CancelTask:
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

    async def __call__(self, task_id: str) -> TaskView:
        job, store = await find_job(task_id, self._runner, self._locator, self._stores)
        if not job.status.active:
            raise InvalidTransitionError(f"task {job.id} already finished ({job.status.value}); nothing to cancel")
        cancelled = await self._runner.cancel(job.id)
        if cancelled is None:
            raise ConflictError(
                f"task {job.id} is run by another cde-orchestrator process (pid {job.server_pid}); cancel it there"
            )
        tail = self._runner.tail(job.id, 20)
        if tail is None:
            tail = await store.tail(job.id, 20)
        return TaskView.of(cancelled, str(store.log_file(job.id)), tail, self._clock())
