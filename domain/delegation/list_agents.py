"""ListAgents: the agents this server knows for a project, which are installed, and their versions."""

from __future__ import annotations

from pathlib import Path

from domain.delegation.ports import AgentDetector
from domain.delegation.views import AgentList, AgentView


class ListAgents:
    def __init__(self, detector: AgentDetector) -> None:
        self._detector = detector

    async def __call__(self, root: Path) -> AgentList:
        agents = await self._detector.agents(root, versions=True)
        return AgentList(
            agents=[AgentView.of(a) for a in agents],
            available=[a.name for a in agents if a.available],
        )
