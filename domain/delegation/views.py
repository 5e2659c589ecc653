"""What the delegation tools return: compact models (they are paid for in every tools/list)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.delegation.agents import AgentInfo
from domain.delegation.job import Job


def _compact_schema(schema: dict[str, Any]) -> None:
    """`anyOf: [X, null]` + `default: null` → `type: [X, "null"]`: the same contract in half the bytes."""
    for prop in schema.get("properties", {}).values():
        variants = prop.get("anyOf")
        if variants and {"type": "null"} in variants and len(variants) == 2:
            (other,) = [v for v in variants if v != {"type": "null"}]
            if isinstance(other.get("type"), str) and "$ref" not in other:
                del prop["anyOf"]
                prop.update(other, type=[other["type"], "null"])
        if "default" in prop and prop["default"] in (None, [], {}):
            del prop["default"]


class Compact(BaseModel):
    """Tool output: statuses are plain strings, optional fields are nullable types."""

    model_config = ConfigDict(json_schema_extra=_compact_schema)


class AgentView(Compact):
    name: str
    available: bool
    version: str | None = None
    source: str
    prompt_via: str
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


class AgentList(Compact):
    agents: list[AgentView]
    available: list[str]


class Selection(Compact):
    agent: str
    reasons: list[str]
    alternatives: list[str] = Field(description="best first")


class TaskView(Compact):
    task_id: str
    agent: str
    status: str
    project: str
    created_at: str
    duration_s: float | None = None
    exit_code: int | None = None
    error: str | None = None
    log: str
    tail: list[str] = []

    @classmethod
    def of(cls, job: Job, log: str, tail: list[str], now: datetime) -> TaskView:
        return cls(
            task_id=job.id,
            agent=job.agent,
            status=job.status.value,
            project=job.project,
            created_at=stamp(job.created_at),
            duration_s=job.elapsed(now),
            exit_code=job.exit_code,
            error=job.error,
            log=log,
            tail=tail,
        )


def stamp(moment: datetime) -> str:
    """ISO 8601 to the second, UTC: `2025-01-31T12:00:00Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class TaskState(Compact):
    task_id: str
    status: str
    exit_code: int | None = None
    error: str | None = None


class DelegateResult(Compact):
    task_id: str
    agent: str
    status: str
    reasons: list[str]


class TaskSummary(Compact):
    task_id: str
    agent: str
    status: str
    duration_s: float | None = None
    prompt: str


class TaskList(Compact):
    tasks: list[TaskSummary]
    total: int = Field(description="before limit")


class WorkerStats(Compact):
    max_jobs: int
    queue_limit: int
    running: int
    queued: int
    finished: dict[str, int]
    mean_duration_s: float | None = None
