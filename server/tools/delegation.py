"""Delegation tools: agent detection/selection and background tasks run by agent CLIs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from domain.delegation.views import AgentList, DelegateResult, Selection, TaskList, TaskState, TaskView, WorkerStats
from server.tooling import add_tool
from server.tools.params import ProjectPath

if TYPE_CHECKING:
    from server.app import CdeServer
    from server.bootstrap import Container

TaskDescription = Annotated[str, Field(min_length=1, max_length=20_000)]
AgentName = Annotated[str | None, Field(max_length=64)]
TaskId = Annotated[str, Field(max_length=64)]


DELEGATE_GUIDE = """\
Starts an agent CLI (claude, codex, gemini, cursor-agent, copilot, qwen, aider, opencode, or one
declared in `agents.yml`) on the task in the project directory and returns its `task_id` at once;
the agent works unattended, with edits and shell commands allowed by its command template.

- `task_description`: the whole task for the agent (at most 20,000 characters); `context` (up to
  500,000) is appended to the prompt.
- `agent`: an installed agent's name; left out, one is chosen as cde_selectAgent would.
- `timeout_s`: 1-86,400 seconds from the start of the run (default 1800); the agent is then
  stopped and the task ends `timed_out`.

Statuses: `queued` -> `running` -> `succeeded` (exit 0) / `failed` / `timed_out` / `cancelled` /
`interrupted` (the server stopped); a finished status never changes. At most CDE_MAX_JOBS run at
once and CDE_JOB_QUEUE more wait; beyond that delegation is refused. Follow the task with
cde_getTaskStatus (output tail), stop it with cde_cancelTask. Its files are in
`.cde/tasks/<task_id>/` (`prompt.md`, `output.log`, `job.json`).
"""

TASK_STATUS_GUIDE = """\
A task's status, exit code, run time, the last `tail_lines` lines of its output (0-200, default
20) and the path of its full log. Only the `task_id` is needed, from any project the server may
reach. A task whose server died is found `interrupted` here (its agent, if still running, is
stopped).
"""

CANCEL_TASK_GUIDE = """\
Stops a queued task at once, or a running one: SIGTERM to the agent's whole process group, then
SIGKILL after CDE_JOB_KILL_GRACE seconds; the task ends `cancelled`. A finished task is refused
with its final status.
"""


def register(server: CdeServer, container: Container) -> None:
    async def cde_listAvailableAgents(project_path: ProjectPath = ".") -> AgentList:  # noqa: N802
        delegation = await container.delegation()
        return await delegation.list_agents(await container.project_root(project_path))

    async def cde_selectAgent(  # noqa: N802
        task_description: TaskDescription,
        preferred_agent: AgentName = None,
        project_path: ProjectPath = ".",
    ) -> Selection:
        root = await container.project_root(project_path)
        delegation = await container.delegation()
        return await delegation.select_agent(root, task_description, preferred_agent)

    async def cde_delegateTask(  # noqa: N802
        task_description: TaskDescription,
        project_path: ProjectPath = ".",
        agent: AgentName = None,
        timeout_s: Annotated[int, Field(ge=1, le=86_400, strict=True)] = 1800,
        context: Annotated[str | None, Field(description="appended to the prompt", max_length=500_000)] = None,
    ) -> DelegateResult:
        root = await container.project_root(project_path)
        delegation = await container.delegation()
        return await delegation.delegate_task(root, task_description, agent=agent, timeout_s=timeout_s, context=context)

    async def cde_getTaskStatus(  # noqa: N802
        task_id: TaskId, tail_lines: Annotated[int, Field(ge=0, le=200)] = 20
    ) -> TaskView:
        delegation = await container.delegation()
        return await delegation.get_task_status(task_id, tail_lines)

    async def cde_listActiveTasks(  # noqa: N802
        project_path: ProjectPath = ".",
        include_finished: bool = False,
        limit: Annotated[int, Field(ge=1, le=200)] = 20,
    ) -> TaskList:
        root = await container.project_root(project_path)
        delegation = await container.delegation()
        return await delegation.list_tasks(root, include_finished=include_finished, limit=limit)

    async def cde_cancelTask(task_id: TaskId) -> TaskState:  # noqa: N802
        delegation = await container.delegation()
        return await delegation.cancel_task(task_id)

    async def cde_getWorkerStats() -> WorkerStats:  # noqa: N802
        delegation = await container.delegation()
        return await delegation.worker_stats()

    readers: list[tuple[Callable[..., Any], str]] = [
        (cde_listAvailableAgents, "Agent CLIs known (built-in + agents.yml): installed?, version, strengths."),
        (cde_selectAgent, "Recommend an installed agent for a task, with reasons. Deterministic."),
        (cde_getTaskStatus, "A delegated task's status, exit code, run time, output tail and log path."),
        (cde_listActiveTasks, "A project's delegated tasks (active only unless include_finished), newest first."),
        (cde_getWorkerStats, "Worker pool size and load; finished by status and mean duration since start."),
    ]
    guides = {"cde_getTaskStatus": TASK_STATUS_GUIDE}
    for fn, description in readers:
        add_tool(
            server,
            fn,
            name=fn.__name__,
            description=description,
            read_only=True,
            idempotent=True,
            guide=guides.get(fn.__name__),
        )
    # Delegating starts an autonomous agent allowed to edit the project and reach its model's API.
    add_tool(
        server,
        cde_delegateTask,
        name="cde_delegateTask",
        description="Start an agent CLI on a task in the background; returns task_id at once. Poll cde_getTaskStatus.",
        read_only=False,
        destructive=True,
        open_world=True,
        guide=DELEGATE_GUIDE,
    )
    add_tool(
        server,
        cde_cancelTask,
        name="cde_cancelTask",
        description="Cancel a queued or running task (SIGTERM, then SIGKILL after a grace period).",
        read_only=False,
        destructive=True,
        guide=CANCEL_TASK_GUIDE,
    )
