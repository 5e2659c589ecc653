"""SelectAgent: recommend an installed agent for a task description, with the reasons."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from domain.delegation.agents import AgentInfo
from domain.delegation.ports import AgentDetector
from domain.delegation.selection import Choice, choose_agent
from domain.delegation.views import Selection
from domain.errors import InvalidInputError, NotFoundError, UnavailableError


def names(agents: Sequence[AgentInfo], *, available: bool) -> str:
    """Names of the installed agents (available=True) or of the missing ones, for error messages."""
    return ", ".join(a.name for a in agents if a.available == available) or "none"


def given(agent: str | None) -> str | None:
    """An agent name as given, None when left out: "" (as callers send for an optional string) too."""
    return agent.strip() or None if agent is not None else None


def choose_or_explain(description: str, agents: Sequence[AgentInfo], preferred: str | None) -> Choice:
    """`choose_agent`, raising the error a caller can act on when it cannot choose."""
    preferred = given(preferred)
    if preferred is not None and preferred not in {a.name for a in agents}:
        raise NotFoundError(
            f"unknown agent {preferred!r}; available: {names(agents, available=True)}; "
            f"not installed: {names(agents, available=False)}"
        )
    choice = choose_agent(description, agents, preferred)
    if choice is None:
        raise UnavailableError(
            f"no agent CLI is installed (looked on PATH for {', '.join(a.spec.executable for a in agents)}); "
            "install one or declare a custom agent in .cde/agents.yml"
        )
    return choice


class SelectAgent:
    def __init__(self, detector: AgentDetector) -> None:
        self._detector = detector

    async def __call__(self, root: Path, task_description: str, preferred_agent: str | None = None) -> Selection:
        if not task_description.strip():  # as cde_delegateTask: nothing to choose an agent for
            raise InvalidInputError("task_description is empty; describe the work to delegate")
        agents = await self._detector.agents(root)
        choice = choose_or_explain(task_description, agents, preferred_agent)
        return Selection(
            agent=choice.agent,
            reasons=list(choice.reasons),
            alternatives=[name for name, _ in choice.ranking if name != choice.agent],
        )
