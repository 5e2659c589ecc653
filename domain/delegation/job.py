"""A delegated task: one run of an agent CLI on a prompt, in a project, with a status machine.

The status only moves forward along the edges in `_TRANSITIONS`; a job that reached
a terminal status (everything but `queued` and `running`) never changes again, so
a late event (a process exiting after it was cancelled) cannot overwrite the outcome.
"""

from __future__ import annotations

import re
import secrets
import signal
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.clock import UtcDatetime
from domain.errors import InvalidInputError, InvalidTransitionError, shown

JOB_SCHEMA_VERSION = 1
PREVIEW_CHARS = 160


MAX_PID = 2**31 - 1  # pid_t is a 32-bit int


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"
    INTERRUPTED = "interrupted"

    @property
    def active(self) -> bool:
        return self in (JobStatus.QUEUED, JobStatus.RUNNING)


_TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    # A queued job fails when its process cannot be started; it is interrupted when the server stops first.
    JobStatus.QUEUED: frozenset({JobStatus.RUNNING, JobStatus.CANCELLED, JobStatus.FAILED, JobStatus.INTERRUPTED}),
    JobStatus.RUNNING: frozenset(
        {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.TIMED_OUT, JobStatus.INTERRUPTED}
    ),
}


def new_job_id(now: datetime, token: str | None = None) -> str:
    """`YYYYMMDD-HHMMSS-xxxxxx`: sorts by creation time, safe as a directory name."""
    return f"{now:%Y%m%d-%H%M%S}-{token or secrets.token_hex(3)}"


_JOB_ID = re.compile(r"[0-9]{8}-[0-9]{6}-[0-9a-z]{1,32}")


def validate_job_id(value: str) -> str:
    """A task id as `new_job_id` makes them: nothing else in a tasks folder is taken for a task."""
    if not isinstance(value, str) or not _JOB_ID.fullmatch(value):
        shown_id = shown(value, 40) if isinstance(value, str) else repr(value)
        raise InvalidInputError(
            f"task_id {shown_id} is not a task id such as 20250131-120000-a1b2c3; "
            "cde_delegateTask returns one, cde_listActiveTasks lists them"
        )
    return value


def exit_reason(exit_code: int) -> str:
    """Why an agent failed, from its exit code (negative: the signal that killed it)."""
    if exit_code < 0:
        try:
            return f"agent was killed by {signal.Signals(-exit_code).name} (signal {-exit_code})"
        except ValueError:
            return f"agent was killed by signal {-exit_code}"
    return f"agent exited with code {exit_code}"


def preview(prompt: str, limit: int = PREVIEW_CHARS) -> str:
    flat = " ".join(prompt.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class Job(BaseModel):
    """The record stored as `.cde/tasks/<id>/job.json`."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = JOB_SCHEMA_VERSION
    id: str
    agent: str
    project: str
    prompt_preview: str
    prompt_chars: int
    timeout_s: float
    status: JobStatus = JobStatus.QUEUED
    created_at: UtcDatetime
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None
    exit_code: int | None = None
    # Process group id of the agent (its pid: every job runs in its own session). Never 0 or 1: signalling
    # those would reach the server's own group or init's. A record saying so is corrupt.
    pgid: int | None = Field(default=None, ge=2, le=MAX_PID)
    # The server process that owns the job; only that process may run or cancel it.
    server_pid: int = Field(ge=1, le=MAX_PID)
    error: str | None = None

    def elapsed(self, now: datetime) -> float | None:
        """Seconds of running: so far while running, in total once finished, None if it never ran."""
        if self.started_at is None:
            return None
        return round(((self.finished_at or now) - self.started_at).total_seconds(), 3)

    def _move(self, to: JobStatus) -> None:
        if to not in _TRANSITIONS.get(self.status, frozenset()):
            raise InvalidTransitionError(
                f"task {self.id} is {self.status.value}; it cannot become {to.value}"
                + (" (it has finished already)" if not self.status.active else "")
            )
        self.status = to

    def start(self, pgid: int, at: datetime) -> None:
        self._move(JobStatus.RUNNING)
        self.pgid = pgid
        self.started_at = at

    def finish(self, to: JobStatus, at: datetime, *, exit_code: int | None = None, error: str | None = None) -> None:
        """Move to terminal status `to`; `exit_code` is the agent's (negative: killed by that signal)."""
        if to.active:
            raise ValueError(f"{to.value} is not a terminal status")
        self._move(to)
        self.finished_at = at
        self.exit_code = exit_code
        self.error = error

    def exited(self, exit_code: int, at: datetime) -> None:
        """The agent exited by itself: succeeded on 0, failed otherwise."""
        if exit_code == 0:
            self.finish(JobStatus.SUCCEEDED, at, exit_code=0)
        else:
            self.finish(JobStatus.FAILED, at, exit_code=exit_code, error=exit_reason(exit_code))
