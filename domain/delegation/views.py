"""What the delegation tools return: compact models (they are paid for in every tools/list)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from domain.delegation.agents import AgentInfo
from domain.delegation.job import Job, JobStatus


class AgentView(BaseModel):
    name: str
    available: bool
    version: str | None = None
    source: str = Field(description="builtin, user or project (agents.yml)")
    prompt_via: str = Field(description="stdin, file or argument")
    strengths: list[str]

    @classmethod
    def of(cls, info: AgentInfo) -> AgentView:
        spec = info.spec
        return cls(
            name=spec.name,
            available=info.available,
            version=info.version,
            source=spec.source,
            prompt_via=spec.prompt_input,
            strengths=list(spec.strengths),
        )


class AgentList(BaseModel):
    agents: list[AgentView]
    available: list[str]


class Selection(BaseModel):
    agent: str
    reasons: list[str]
    kinds: list[str]
    complexity: str
    alternatives: list[str] = Field(description="other available agents, best first")


class TaskView(BaseModel):
    task_id: str
    agent: str
    status: JobStatus
    project: str
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_s: float | None = Field(default=None, description="run time so far or in total")
    exit_code: int | None = None
    error: str | None = None
    log: str = Field(description="full output log path")
    tail: list[str] = []

    @classmethod
    def of(cls, job: Job, log: str, tail: list[str], now: datetime) -> TaskView:
        return cls(
            task_id=job.id,
            agent=job.agent,
            status=job.status,
            project=job.project,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            duration_s=job.elapsed(now),
            exit_code=job.exit_code,
            error=job.error,
            log=log,
            tail=tail,
        )


class DelegateResult(BaseModel):
    task_id: str
    agent: str
    status: JobStatus
    reasons: list[str] = Field(description="why this agent (when selected)")


class TaskSummary(BaseModel):
    task_id: str
    agent: str
    status: JobStatus
    created_at: datetime
    duration_s: float | None = None
    prompt: str


class TaskList(BaseModel):
    tasks: list[TaskSummary]
    total: int = Field(description="matching tasks before the limit")


class WorkerStats(BaseModel):
    max_jobs: int
    queue_limit: int
    running: int
    queued: int
    finished: dict[str, int] = Field(description="jobs finished since server start, by status")
    mean_duration_s: float | None = None
