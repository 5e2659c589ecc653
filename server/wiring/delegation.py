"""Composition of the delegation feature: adapters, use cases, and the pool's start/stop hooks."""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from adapters.agent_detector import PathAgentDetector
from adapters.fs_job_store import FsJobStores
from adapters.job_pool import WorkerPool
from adapters.task_index import HomeTaskIndex
from domain.delegation.cancel_task import CancelTask
from domain.delegation.delegate_task import DelegateTask
from domain.delegation.get_task_status import GetTaskStatus
from domain.delegation.list_agents import ListAgents
from domain.delegation.list_tasks import ListTasks
from domain.delegation.prune_jobs import PruneJobs
from domain.delegation.select_agent import SelectAgent
from domain.delegation.worker_stats import GetWorkerStats
from domain.errors import DomainError, NotFoundError
from infrastructure.settings import Settings

logger = logging.getLogger(__name__)


@dataclass
class Delegation:
    list_agents: ListAgents
    select_agent: SelectAgent
    delegate_task: DelegateTask
    get_task_status: GetTaskStatus
    list_tasks: ListTasks
    cancel_task: CancelTask
    worker_stats: GetWorkerStats
    prune_jobs: PruneJobs
    pool: WorkerPool
    stores: FsJobStores
    index: HomeTaskIndex
    default_root: Path
    _scan: asyncio.Task[None] | None = field(default=None, repr=False)

    async def start(self) -> None:
        """Arm the pool; in the background, mark orphaned jobs interrupted (and kill their agents)."""
        await self.pool.start()
        self._scan = asyncio.get_running_loop().create_task(self._recover())

    async def _recover(self) -> None:
        """Check the default project's tasks (and prune them) and every task marked active in the CDE home.

        Reading an active record whose server is gone marks it interrupted, so this
        needs nothing but reads; a marker left by a finished or unknown task is dropped.
        """
        try:
            store = await self.stores.for_project(self.default_root)
            await store.jobs()
        except DomainError as exc:
            logger.warning("could not check %s for interrupted tasks: %s", self.default_root, exc.message)
        else:
            try:
                await self.prune_jobs(store)  # the retention may have been lowered since the last task ended
            except Exception:  # pruning is housekeeping: it must never stop the recovery below
                logger.warning("could not prune the finished tasks of %s", self.default_root, exc_info=True)
        try:
            marked = await self.stores.marked_active()
        except DomainError as exc:
            logger.warning("could not list the active tasks: %s", exc.message)
            return
        for job_id in marked:
            try:
                root = await self.index.locate(job_id)
                job = await (await self.stores.for_project(root)).load(job_id)
            except NotFoundError:
                await self.stores.unmark(job_id)
            except DomainError as exc:
                logger.warning("could not check task %s: %s", job_id, exc.message)
            else:
                if not job.status.active:
                    await self.stores.unmark(job_id)

    async def stop(self) -> None:
        """Stop every job and wait for their final records (runs on server shutdown).

        A start-up scan still running gets SCAN_STOP_GRACE to finish: it kills a dead server's
        orphaned agents, which would otherwise run on until the next start.
        """
        if self._scan is not None:
            done, _ = await asyncio.wait({self._scan}, timeout=SCAN_STOP_GRACE)
            if not done:
                self._scan.cancel()
            try:
                await self._scan
            except asyncio.CancelledError:
                pass
            except Exception:  # already logged by nobody: say it, but stop the jobs whatever happened
                logger.warning("the start-up task scan failed", exc_info=True)
        await self.pool.shutdown()
        self.stores.release_all()


SCAN_STOP_GRACE = 1.0  # seconds a stopping server lets its start-up task scan finish


def build_delegation(settings: Settings) -> Delegation:
    detector = PathAgentDetector(settings.home, probe_timeout=settings.agent_probe_timeout)
    stores = FsJobStores(active_dir=settings.home / "running")
    index = HomeTaskIndex(settings.home, default_root=settings.project_root, allowed_roots=settings.allowed_roots)
    prune_jobs = PruneJobs(index, keep=settings.job_keep, max_age=timedelta(days=settings.job_keep_days))
    pool = WorkerPool(
        max_jobs=settings.max_jobs,
        queue_limit=settings.job_queue,
        kill_grace=settings.job_kill_grace,
        after_finish=prune_jobs,
    )
    return Delegation(
        list_agents=ListAgents(detector),
        select_agent=SelectAgent(detector),
        delegate_task=DelegateTask(detector, stores, index, pool, server_pid=os.getpid()),
        get_task_status=GetTaskStatus(pool, index, stores),
        list_tasks=ListTasks(stores, pool),
        cancel_task=CancelTask(pool, index, stores),
        worker_stats=GetWorkerStats(pool),
        prune_jobs=prune_jobs,
        pool=pool,
        stores=stores,
        index=index,
        default_root=settings.project_root,
    )
