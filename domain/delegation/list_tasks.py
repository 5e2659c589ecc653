"""ListTasks: a project's delegated tasks, active ones by default, newest first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from domain.clock import utc_now
from domain.delegation.ports import JobRunner, JobStores
from domain.delegation.views import TaskList, TaskSummary


class ListTasks:
    def __init__(self, stores: JobStores, runner: JobRunner, clock: Callable[[], datetime] = utc_now) -> None:
        self._stores = stores
        self._runner = runner
        self._clock = clock

    async def __call__(self, root: Path, *, include_finished: bool = False, limit: int = 20) -> TaskList:
        store = await self._stores.for_project(root)
        now = self._clock()
        jobs = [self._runner.live(job.id) or job for job in await store.jobs()]
        matching = [job for job in jobs if include_finished or job.status.active]
        return TaskList(
            tasks=[
                TaskSummary(
                    task_id=job.id,
                    agent=job.agent,
                    status=job.status.value,
                    duration_s=job.elapsed(now),
                    prompt=job.prompt_preview,
                )
                for job in matching[:limit]
            ],
            total=len(matching),
        )
