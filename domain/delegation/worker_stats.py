"""GetWorkerStats: the worker pool's size and load, and what it finished since the server started."""

from __future__ import annotations

from domain.delegation.ports import JobRunner
from domain.delegation.views import WorkerStats


class GetWorkerStats:
    def __init__(self, runner: JobRunner) -> None:
        self._runner = runner

    async def __call__(self) -> WorkerStats:
        stats = self._runner.stats()
        return WorkerStats(
            max_jobs=stats.max_jobs,
            queue_limit=stats.queue_limit,
            running=stats.running,
            queued=stats.queued,
            finished=dict(stats.finished),
            mean_duration_s=stats.mean_duration_s,
        )
