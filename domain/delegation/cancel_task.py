"""CancelTask: stop a queued or running task (SIGTERM to its process group, SIGKILL after a grace)."""

from __future__ import annotations

from domain.delegation.get_task_status import find_job
from domain.delegation.ports import JobRunner, JobStores, TaskLocator
from domain.delegation.views import TaskState
from domain.errors import ConflictError, InvalidTransitionError


class CancelTask:
    def __init__(
        self,
        runner: JobRunner,
        locator: TaskLocator,
        stores: JobStores,
    ) -> None:
        self._runner = runner
        self._locator = locator
        self._stores = stores

    async def __call__(self, task_id: str) -> TaskState:
        job, _ = await find_job(task_id, self._runner, self._locator, self._stores)
        if not job.status.active:
            raise InvalidTransitionError(f"task {job.id} already finished ({job.status.value}); nothing to cancel")
        cancelled = await self._runner.cancel(job.id)
        if cancelled is None:
            raise ConflictError(
                f"task {job.id} is run by another cde-orchestrator process (pid {job.server_pid}); cancel it there"
            )
        return TaskState(
            task_id=cancelled.id,
            status=cancelled.status.value,
            exit_code=cancelled.exit_code,
            error=cancelled.error,
        )
