"""DelegateTask: start an agent on a task in the background and return its task id at once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from domain.clock import utc_now
from domain.delegation.agents import AgentInfo
from domain.delegation.job import Job, JobStatus, new_job_id, preview
from domain.delegation.launch import LaunchPlan, plan_launch
from domain.delegation.ports import AgentDetector, JobRunner, JobStore, JobStores, TaskLocator
from domain.delegation.select_agent import choose_or_explain, given, names
from domain.delegation.views import DelegateResult
from domain.errors import InvalidInputError, NotFoundError, UnavailableError


def compose_prompt(task_description: str, context: str | None) -> str:
    prompt = task_description.strip()
    if context and context.strip():
        prompt += "\n\n## Context\n\n" + context.strip()
    if "\x00" in prompt:
        raise InvalidInputError("task_description and context cannot contain NUL characters")
    return prompt


def pick(agents: list[AgentInfo], agent: str) -> AgentInfo:
    found = next((a for a in agents if a.name == agent), None)
    if found is None:
        raise NotFoundError(
            f"unknown agent {agent!r}; available: {names(agents, available=True)}; "
            f"not installed: {names(agents, available=False)}; custom agents go in .cde/agents.yml"
        )
    if not found.available:
        executable = found.spec.executable
        where = "is not an executable file" if "/" in executable else "is not on PATH"
        raise UnavailableError(
            f"agent {agent} is not installed ({executable} {where}); available: {names(agents, available=True)}"
        )
    return found


class DelegateTask:
    def __init__(
        self,
        detector: AgentDetector,
        stores: JobStores,
        locator: TaskLocator,
        runner: JobRunner,
        *,
        server_pid: int,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._detector = detector
        self._stores = stores
        self._locator = locator
        self._runner = runner
        self._server_pid = server_pid
        self._clock = clock
        self._withdrawals: set[asyncio.Future[Job | None]] = set()

    async def __call__(
        self,
        root: Path,
        task_description: str,
        *,
        agent: str | None = None,
        timeout_s: float = 1800,
        context: str | None = None,
    ) -> DelegateResult:
        if not task_description.strip():
            raise InvalidInputError("task_description is empty; describe the work to delegate")
        agents = await self._detector.agents(root)
        reasons: list[str] = []
        agent = given(agent)
        if agent is None:
            choice = choose_or_explain(task_description, agents, None)
            chosen = pick(agents, choice.agent)
            reasons = list(choice.reasons)
        else:
            chosen = pick(agents, agent)
        assert chosen.path is not None
        prompt = compose_prompt(task_description, context)
        store = await self._stores.for_project(root)
        now = self._clock()
        job = Job(
            id=new_job_id(now),
            agent=chosen.name,
            project=str(root),
            prompt_preview=preview(task_description),
            prompt_chars=len(prompt),
            timeout_s=timeout_s,
            created_at=now,
            server_pid=self._server_pid,
        )
        plan = plan_launch(chosen.spec, chosen.path, prompt, store.prompt_file(job.id), root)
        # Once the record exists the job must reach the runner, or it would stay queued forever: a cancelled
        # call lets the start finish, then withdraws the job (no agent runs for a request its caller dropped).
        start = asyncio.ensure_future(self._start(job, prompt, plan, store, root))
        try:
            await asyncio.shield(start)
        except asyncio.CancelledError:
            start.add_done_callback(self._withdraw(job.id))
            raise
        return DelegateResult(task_id=job.id, agent=job.agent, status=job.status.value, reasons=reasons)

    async def _start(self, job: Job, prompt: str, plan: LaunchPlan, store: JobStore, root: Path) -> None:
        created, indexed = await asyncio.gather(
            store.create(job, prompt), self._locator.remember(job.id, root), return_exceptions=True
        )
        if isinstance(indexed, BaseException):
            if not isinstance(created, BaseException):  # close the record, or it would wait forever
                job.finish(JobStatus.FAILED, self._clock(), error="the task could not be indexed; retry")
                await store.save(job)
            raise indexed
        if isinstance(created, BaseException):
            with contextlib.suppress(Exception):  # a pointer to a task without a record would mislead
                await self._locator.forget([job.id], root)
            raise created
        await self._runner.submit(job, plan, store)

    def _withdraw(self, job_id: str) -> Callable[[asyncio.Future[None]], None]:
        def cancel_if_started(start: asyncio.Future[None]) -> None:
            if not start.cancelled() and start.exception() is None:
                withdrawal = asyncio.ensure_future(self._runner.cancel(job_id))
                self._withdrawals.add(withdrawal)
                withdrawal.add_done_callback(self._withdrawals.discard)

        return cancel_if_started
