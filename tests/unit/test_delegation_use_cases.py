"""Use cases with an in-memory agent detector (the installed CLIs are the outside world)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from domain.delegation.agents import BUILTIN_AGENTS, AgentInfo
from domain.delegation.delegate_task import DelegateTask, compose_prompt, pick
from domain.delegation.list_agents import ListAgents
from domain.delegation.select_agent import SelectAgent
from domain.errors import InvalidInputError, NotFoundError, UnavailableError

ROOT = Path("/project")


class Installed:
    """An AgentDetector that reports a fixed set of built-ins as installed."""

    def __init__(self, *names: str) -> None:
        self.names = names
        self.calls: list[tuple[Path, bool]] = []

    async def agents(self, root: Path, *, versions: bool = False) -> list[AgentInfo]:
        self.calls.append((root, versions))
        return [
            AgentInfo(
                spec=s,
                path=f"/bin/{s.name}" if s.name in self.names else None,
                version="1.0" if versions and s.name in self.names else None,
            )
            for s in BUILTIN_AGENTS
        ]


class Unreachable:
    """Stores, index and runner that must not be touched when delegation is refused up front."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"{name} was used although the request was invalid")


def delegate(detector: Installed) -> DelegateTask:
    nothing: Any = Unreachable()
    return DelegateTask(detector, nothing, nothing, nothing, server_pid=1)


async def test_list_agents_probes_versions() -> None:
    detector = Installed("codex")
    listing = await ListAgents(detector)(ROOT)
    assert detector.calls == [(ROOT, True)]
    assert listing.available == ["codex"]
    codex = next(a for a in listing.agents if a.name == "codex")
    assert codex.version == "1.0" and codex.prompt_via == "stdin" and codex.source == "builtin"


async def test_select_agent_returns_alternatives_best_first() -> None:
    selection = await SelectAgent(Installed("claude", "aider", "codex"))(ROOT, "Fix the flaky test")
    assert selection.agent == "claude"  # bugfix + tests: claude, codex and aider all match; priority decides
    assert selection.alternatives == ["codex", "aider"]


async def test_select_agent_reports_nothing_installed() -> None:
    with pytest.raises(
        UnavailableError, match=re.escape("no agent CLI is installed (looked on PATH for claude, codex, gemini")
    ):
        await SelectAgent(Installed())(ROOT, "anything")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"agent": "gpt"}, NotFoundError, "unknown agent 'gpt'; available: aider; not installed: claude, codex"),
        (
            {"agent": "claude"},
            UnavailableError,
            "agent claude is not installed (claude is not on PATH); available: aider",
        ),
        ({"task_description": "  "}, InvalidInputError, "task_description is empty"),
        ({"context": "a\x00b"}, InvalidInputError, "cannot contain NUL characters"),
    ],
)
async def test_delegation_is_refused_before_anything_is_written(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    arguments = {"task_description": "fix it", **kwargs}
    description = arguments.pop("task_description")
    with pytest.raises(error, match=re.escape(message)):
        await delegate(Installed("aider"))(ROOT, description, **arguments)


def test_prompt_is_the_task_then_the_context() -> None:
    assert compose_prompt("  Do it. ", None) == "Do it."
    assert compose_prompt("Do it.", " see x.py ") == "Do it.\n\n## Context\n\nsee x.py"


def test_an_agent_whose_absolute_program_cannot_run_is_not_said_to_be_missing_from_path() -> None:
    spec = BUILTIN_AGENTS[0].model_copy(update={"name": "mine", "command": ("/opt/tools/mine", "{prompt}")})
    with pytest.raises(UnavailableError, match=re.escape("(/opt/tools/mine is not an executable file)")):
        pick([AgentInfo(spec=spec, path=None)], "mine")
