"""Ports of the delegation use cases: agent detection, job records, the task index, the runner."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from domain.delegation.agents import AgentInfo
from domain.delegation.job import Job
from domain.delegation.launch import LaunchPlan


class AgentDetector(Protocol):
    """The agents known for a project (built-ins + agents.yml layers) and which are installed."""

    async def agents(self, root: Path, *, versions: bool = False) -> list[AgentInfo]:
        """Every known agent; `versions` also probes each installed one for its version (slower)."""
        ...


class JobStore(Protocol):
    """One project's job records under `.cde/tasks/<id>/`."""

    root: Path

    def prompt_file(self, job_id: str) -> Path: ...

    def log_file(self, job_id: str) -> Path: ...

    async def create(self, job: Job, prompt: str) -> None:
        """Write the prompt and the first record, and take the job's lease (held while it is active)."""
        ...

    async def save(self, job: Job) -> None:
        """Persist the record atomically; a terminal status also releases the lease."""
        ...

    async def load(self, job_id: str) -> Job:
        """The record; NotFoundError when the project has no such task."""
        ...

    async def jobs(self) -> list[Job]:
        """Every readable record, newest first."""
        ...

    async def tail(self, job_id: str, lines: int) -> list[str]:
        """The last `lines` lines of the job's output log (empty when there is none)."""
        ...

    async def prune(self, keep: int, finished_before: datetime) -> list[str]:
        """Delete the finished jobs beyond the newest `keep` and those finished before `finished_before`.

        Active jobs and records that cannot be read are never deleted. Returns the ids deleted.
        """
        ...


class JobStores(Protocol):
    async def for_project(self, root: Path) -> JobStore:
        """The project's store. Its reads mark active jobs whose server died `interrupted`."""
        ...


class TaskLocator(Protocol):
    """Finds the project of a task id, for the tools that take only a task id."""

    async def remember(self, job_id: str, root: Path) -> None: ...

    async def forget(self, job_ids: list[str], root: Path) -> None:
        """Drop the pointers of tasks deleted from the project at `root`: a pointer naming another project
        (whose record was copied here with the project) is that project's, and stays."""
        ...

    async def locate(self, job_id: str) -> Path:
        """The project root of `job_id`; NotFoundError / PermissionDeniedError otherwise."""
        ...


@dataclass(frozen=True)
class RunnerStats:
    max_jobs: int
    queue_limit: int
    running: int
    queued: int
    finished: dict[str, int] = field(default_factory=dict)
    mean_duration_s: float | None = None


class JobRunner(Protocol):
    """The supervised worker pool that runs jobs of this server process."""

    async def submit(self, job: Job, plan: LaunchPlan, store: JobStore) -> None:
        """Queue the job (LimitExceededError when the queue is full); it starts when a slot frees."""
        ...

    def live(self, job_id: str) -> Job | None:
        """The current record of a job this runner knows, or None."""
        ...

    def tail(self, job_id: str, lines: int) -> list[str] | None:
        """The in-memory output tail of a job this runner knows, or None."""
        ...

    async def cancel(self, job_id: str) -> Job | None:
        """Cancel a queued or running job of this runner and return its final record; None if unknown."""
        ...

    def stats(self) -> RunnerStats: ...
